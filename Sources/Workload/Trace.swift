import Foundation
import JSON

/// A workload's `trace:` section: a file of timestamped requests to replay on their own clock instead of a
/// synthetic load shape.
package struct TraceSpec: Sendable, Equatable {
    package enum Format: String, Sendable, CaseIterable {
        /// JSONL with `timestamp` (ms), `input_length`, `output_length`, optional `hash_ids` (prefix blocks) and
        /// `session_id`: the Mooncake (FAST'25) trace format AIPerf and Dynamo replay.
        case mooncake
        /// CSV with a header naming `time_s` or `timestamp_ms`, `prompt_tokens`, `output_tokens` and optional
        /// `session` columns.
        case csv
        /// JSONL with `time_s` or `timestamp_ms`, `prompt_tokens`, `output_tokens` and optional `session`.
        case jsonl
    }

    /// The resolved path of the trace file.
    package var file: String
    package var format: Format
    /// Multiplies the trace's time: 0.5 replays it twice as fast, 2 half as fast.
    package var timeScale: Double = 1
    /// Seconds of the trace (from its first request) skipped before the replay starts.
    package var startS: Double = 0
    /// Seconds of the trace replayed after `startS` (nil: to the end).
    package var windowS: Double?
    /// Tokens per `hash_ids` block (Mooncake's 512).
    package var blockTokens: Int = 512
    /// The rows inside the window, in time order, their times already offset and scaled (seconds from the start
    /// of the replay).
    package var rows: [TraceRow] = []

    package init(file: String, format: Format) {
        self.file = file
        self.format = format
    }

    /// When the last request of the replay is due (seconds).
    package var lastArrivalS: Double { rows.last?.timeS ?? 0 }

    /// The share of the replay's prompt tokens that lie in `hash_ids` blocks an earlier request already sent:
    /// the hit rate of an unbounded prefix cache that caches whole blocks, which the mock's cache must reproduce.
    package var repeatedBlockShare: Double {
        var seen: Set<Int> = []
        var repeated = 0
        var total = 0
        for row in rows {
            total += row.promptTokens
            var prefixIntact = true
            for (position, id) in row.hashIDs.enumerated() {
                let tokens = min(blockTokens, max(0, row.promptTokens - position * blockTokens))
                // A block counts only whole and only while every block before it was cached too (a prefix cache
                // matches prefixes).
                if prefixIntact, tokens == blockTokens, seen.contains(id) { repeated += tokens } else { prefixIntact = false }
                if tokens == blockTokens { seen.insert(id) }
            }
        }
        return total == 0 ? 0 : Double(repeated) / Double(total)
    }
}

/// One request of a trace.
package struct TraceRow: Sendable, Equatable {
    /// Intended start, seconds from the start of the replay (offset and scaled).
    package var timeS: Double
    package var promptTokens: Int
    package var outputTokens: Int
    /// Ids of the prompt's `blockTokens`-token blocks, in order; requests sharing leading ids share that prefix.
    package var hashIDs: [Int]
    package var session: String?

    package init(timeS: Double, promptTokens: Int, outputTokens: Int, hashIDs: [Int] = [], session: String? = nil) {
        self.timeS = timeS
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
        self.hashIDs = hashIDs
        self.session = session
    }
}

/// A trace file that cannot be replayed, with the line at fault and how to fix it.
package struct TraceError: Error, Sendable, CustomStringConvertible {
    package var file: String
    package var line: Int?
    package var message: String
    package var description: String { "trace \(file)\(line.map { " line \($0)" } ?? ""): \(message)" }
}

package enum TraceLoader {
    /// Most rows one replay may hold (each is a prompt built and kept in memory before the load starts).
    package static let maxRows = 200_000

    /// The format of a file from its name: `.csv` is CSV; JSONL files are Mooncake when their first row has
    /// `input_length`, plain JSONL otherwise.
    package static func detectFormat(path: String, data: Data) -> TraceSpec.Format {
        if path.lowercased().hasSuffix(".csv") { return .csv }
        let firstLine = data.split(separator: UInt8(ascii: "\n")).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
        return firstLine.contains("\"input_length\"") ? .mooncake : .jsonl
    }

    /// A replay of `file` (format detected from it unless given), its rows loaded and checked.
    package static func spec(file: String, format: TraceSpec.Format? = nil, timeScale: Double = 1, startS: Double = 0,
                            windowS: Double? = nil, blockTokens: Int = 512) throws -> TraceSpec {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TraceError(file: file, line: nil, message: "not found or not readable; check the path")
        }
        var spec = TraceSpec(file: file, format: format ?? detectFormat(path: file, data: data))
        spec.timeScale = timeScale
        spec.startS = startS
        spec.windowS = windowS
        spec.blockTokens = blockTokens
        spec.rows = try rows(of: spec, data: data)
        return spec
    }

    /// Reads the rows of `spec.file`, keeps those inside `[startS, startS + windowS)` of trace time, and offsets
    /// and scales their times.
    static func rows(of spec: TraceSpec, data: Data) throws -> [TraceRow] {
        let raw = spec.format == .csv ? try csv(data, file: spec.file) : try jsonl(data, file: spec.file)
        guard !raw.isEmpty else { throw TraceError(file: spec.file, line: nil, message: "contains no requests") }
        // Trace time counts from its first request; rows may come out of order (stable sort keeps ties in order).
        let origin = raw.map(\.timeS).min()!
        let end = spec.windowS.map { spec.startS + $0 } ?? .infinity
        let rows = raw.enumerated().sorted { ($0.element.timeS, $0.offset) < ($1.element.timeS, $1.offset) }
            .map(\.element)
            .filter { $0.timeS - origin >= spec.startS && $0.timeS - origin < end }
            .map { row -> TraceRow in
                var row = row
                row.timeS = (row.timeS - origin - spec.startS) * spec.timeScale
                return row
            }
        guard !rows.isEmpty else {
            let span = raw.map(\.timeS).max()! - origin
            throw TraceError(file: spec.file, line: nil, message: "no request falls in the window (start "
                             + "\(spec.startS) s, window \(spec.windowS.map { "\($0) s" } ?? "to the end")); the "
                             + "trace spans " + String(format: "%.3f", span) + " s")
        }
        guard rows.count <= maxRows else {
            throw TraceError(file: spec.file, line: nil, message: "\(rows.count) requests in the window, more than "
                             + "\(maxRows); replay a part of it with trace.start and trace.window")
        }
        return rows
    }

    static func jsonl(_ data: Data, file: String) throws -> [TraceRow] {
        var rows: [TraceRow] = []
        for (lineNumber, parsed) in Dataset.jsonlObjects(data) {
            guard let object = parsed else {
                throw TraceError(file: file, line: lineNumber, message: "not a JSON object")
            }
            func field(_ names: [String]) -> (String, JSONValue)? {
                names.lazy.compactMap { name in object[name].map { (name, $0) } }.first
            }
            let time: Double
            if let (name, value) = field(["timestamp", "timestamp_ms"]) {
                time = try number(value, name, line: lineNumber, file: file) / 1000
            } else if let (name, value) = field(["time_s"]) {
                time = try number(value, name, line: lineNumber, file: file)
            } else {
                throw TraceError(file: file, line: lineNumber,
                                 message: "needs a request time: timestamp (ms, Mooncake), timestamp_ms or time_s")
            }
            guard let (promptName, promptValue) = field(["input_length", "prompt_tokens"]),
                  let (outputName, outputValue) = field(["output_length", "output_tokens"]) else {
                throw TraceError(file: file, line: lineNumber, message: "needs input_length and output_length (Mooncake) "
                                 + "or prompt_tokens and output_tokens")
            }
            let prompt = try count(promptValue, promptName, line: lineNumber, file: file)
            let output = try count(outputValue, outputName, line: lineNumber, file: file)
            var hashIDs: [Int] = []
            if let ids = object["hash_ids"] {
                guard case .array(let items) = ids else {
                    throw TraceError(file: file, line: lineNumber, message: "hash_ids must be a list of whole numbers")
                }
                for item in items {
                    guard case .number(let n) = item, n >= 0, n == n.rounded(), n < 9e15 else {
                        throw TraceError(file: file, line: lineNumber,
                                         message: "hash_ids must be a list of whole numbers ≥ 0, found \(item)")
                    }
                    hashIDs.append(Int(n))
                }
            }
            var session: String?
            switch field(["session_id", "session"])?.1 {
            case .string(let s)?: session = s
            case .number(let n)? where n == n.rounded(): session = String(Int(n))
            case nil, .null?: session = nil
            default:
                throw TraceError(file: file, line: lineNumber, message: "session must be a string or a whole number")
            }
            rows.append(TraceRow(timeS: time, promptTokens: prompt, outputTokens: output, hashIDs: hashIDs,
                                 session: session))
        }
        return rows
    }

    static func csv(_ data: Data, file: String) throws -> [TraceRow] {
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let headerIndex = lines.firstIndex(where: { !$0.isEmpty && !$0.hasPrefix("#") }) else { return [] }
        let header = lines[headerIndex].split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        func column(_ names: [String]) -> Int? { names.lazy.compactMap { header.firstIndex(of: $0) }.first }
        let timeMs = column(["timestamp_ms", "timestamp"])
        let timeS = column(["time_s"])
        guard let timeColumn = timeMs ?? timeS,
              let promptColumn = column(["prompt_tokens", "input_length"]),
              let outputColumn = column(["output_tokens", "output_length"]) else {
            throw TraceError(file: file, line: headerIndex + 1, message: "the header must name a time column (time_s "
                             + "or timestamp_ms), prompt_tokens and output_tokens (optional: session); found "
                             + header.joined(separator: ","))
        }
        let sessionColumn = column(["session", "session_id"])
        var rows: [TraceRow] = []
        for index in (headerIndex + 1)..<lines.count {
            let line = lines[index]
            if line.isEmpty || line.hasPrefix("#") { continue }
            let number = index + 1
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == header.count else {
                throw TraceError(file: file, line: number,
                                 message: "has \(fields.count) fields, the header \(header.count)")
            }
            func parse(_ column: Int, _ name: String) throws -> Double {
                guard let value = Double(fields[column]) else {
                    throw TraceError(file: file, line: number, message: "\(name) '\(fields[column])' is not a number")
                }
                return value
            }
            let rawTime = try parse(timeColumn, header[timeColumn])
            let time = timeMs != nil ? rawTime / 1000 : rawTime
            guard time.isFinite, time >= 0 else {
                throw TraceError(file: file, line: number, message: "\(header[timeColumn]) must be ≥ 0")
            }
            let prompt = try count(.number(parse(promptColumn, header[promptColumn])), header[promptColumn],
                                   line: number, file: file)
            let output = try count(.number(parse(outputColumn, header[outputColumn])), header[outputColumn],
                                   line: number, file: file)
            let session = sessionColumn.flatMap { fields[$0].isEmpty ? nil : fields[$0] }
            rows.append(TraceRow(timeS: time, promptTokens: prompt, outputTokens: output, session: session))
        }
        return rows
    }

    private static func number(_ value: JSONValue, _ name: String, line: Int, file: String) throws -> Double {
        guard case .number(let n) = value, n.isFinite, n >= 0 else {
            throw TraceError(file: file, line: line, message: "\(name) must be a number ≥ 0, found \(value)")
        }
        return n
    }

    private static func count(_ value: JSONValue, _ name: String, line: Int, file: String) throws -> Int {
        guard case .number(let n) = value, n == n.rounded(), Limits.tokens.contains(Int(exactly: n) ?? 0) else {
            throw TraceError(file: file, line: line, message: "\(name) must be a whole number in "
                             + "\(Limits.tokens.lowerBound)...\(Limits.tokens.upperBound), found \(value)")
        }
        return Int(n)
    }
}
