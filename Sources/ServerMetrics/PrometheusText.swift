/// The Prometheus text exposition format (0.0.4, as vLLM, SGLang, TGI and llama.cpp serve it on /metrics).
///
/// Written here rather than taken from swift-prometheus: that package depends on swift-metrics, whose `Metrics`
/// target collides with ours, and it has no parser anyway.
package enum PrometheusMetricType: String, Sendable, Equatable {
    case counter, gauge, histogram, summary, untyped, info, stateset, gaugehistogram, unknown
}

/// One line of a scrape: `name{label="value",...} value [timestamp]`.
package struct PrometheusSample: Sendable, Equatable {
    package var name: String
    package var labels: [String: String]
    package var value: Double
    /// Milliseconds since the Unix epoch, when the exporter gave one.
    package var timestampMs: Int64?

    package init(name: String, labels: [String: String] = [:], value: Double, timestampMs: Int64? = nil) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestampMs = timestampMs
    }
}

/// A line the parser skipped; a scrape with a few bad lines still yields the good ones.
package struct PrometheusParseError: Error, Sendable, Equatable, CustomStringConvertible {
    package var line: Int
    package var text: String
    package var problem: String

    package var description: String {
        "metrics line \(line): \(problem) in \"\(text.prefix(120))\"; the line was skipped "
            + "(is this Prometheus text format 0.0.4? check the server's /metrics output)"
    }
}

/// A histogram summed over every label set except `le` (replicas, models, engines).
package struct PrometheusHistogram: Sendable, Equatable {
    package struct Bucket: Sendable, Equatable {
        package var upperBound: Double
        package var cumulativeCount: Double
    }

    package var buckets: [Bucket]
    package var sum: Double
    package var count: Double
}

/// A parsed scrape.
package struct PrometheusExposition: Sendable {
    package private(set) var samples: [PrometheusSample] = []
    package private(set) var types: [String: PrometheusMetricType] = [:]
    package private(set) var help: [String: String] = [:]
    /// Lines that could not be parsed (skipped).
    package private(set) var problems: [PrometheusParseError] = []
    private var byName: [String: [Int]] = [:]

    /// Parses a whole scrape; never throws: bad lines land in `problems`.
    package init(parsing text: String) {
        var lineNumber = 0
        // `isNewline`, not "\n": in Swift "\r\n" is one Character, and some exporters write CRLF.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty { continue }
            if trimmed.first == "#" {
                parseComment(trimmed.dropFirst())
                continue
            }
            do {
                let sample = try Self.parseSample(Array(trimmed.utf8))
                byName[sample.name, default: []].append(samples.count)
                samples.append(sample)
            } catch let problem as LineProblem {
                problems.append(PrometheusParseError(line: lineNumber, text: String(trimmed), problem: problem.text))
            } catch {
                problems.append(PrometheusParseError(line: lineNumber, text: String(trimmed), problem: "\(error)"))
            }
        }
    }

    /// Every sample of one series name (all label sets).
    package func samples(named name: String) -> [PrometheusSample] {
        (byName[name] ?? []).map { samples[$0] }
    }

    package func contains(_ name: String) -> Bool { byName[name] != nil }

    /// Sum over label sets (replicas of a counter, engines of a gauge); nil when absent.
    package func total(_ name: String) -> Double? {
        let values = samples(named: name).map(\.value).filter(\.isFinite)
        return values.isEmpty ? nil : values.reduce(0, +)
    }

    /// Largest value over label sets; nil when absent.
    package func maximum(_ name: String) -> Double? {
        samples(named: name).map(\.value).filter(\.isFinite).max()
    }

    /// `name_bucket`/`name_sum`/`name_count` combined, summed over label sets other than `le`.
    package func histogram(_ name: String) -> PrometheusHistogram? {
        guard let count = total(name + "_count") else { return nil }
        var cumulative: [Double: Double] = [:]
        for sample in samples(named: name + "_bucket") {
            guard let le = sample.labels["le"], let bound = Self.parseNumber(Substring(le)) else { continue }
            cumulative[bound, default: 0] += sample.value
        }
        let buckets = cumulative.keys.sorted().map {
            PrometheusHistogram.Bucket(upperBound: $0, cumulativeCount: cumulative[$0] ?? 0)
        }
        return PrometheusHistogram(buckets: buckets, sum: total(name + "_sum") ?? 0, count: count)
    }

    private mutating func parseComment(_ body: Substring) {
        let parts = body.drop { $0 == " " }.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2 else { return }
        let name = String(parts[1])
        switch parts[0] {
        case "TYPE":
            let kind = parts.count > 2 ? parts[2].trimmingSpaces.lowercased() : "untyped"
            types[name] = PrometheusMetricType(rawValue: kind) ?? .unknown
        case "HELP":
            help[name] = parts.count > 2 ? Self.unescape(Array(parts[2].utf8), quotes: false) : ""
        default:
            break  // Any other comment is free text.
        }
    }

    struct LineProblem: Error {
        let text: String
    }

    /// Byte-level scan: a vLLM scrape is ~100 KB of mostly bucket lines, parsed every second.
    static func parseSample(_ bytes: [UInt8]) throws -> PrometheusSample {
        var i = 0
        func isNameByte(_ b: UInt8, first: Bool) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || b == 0x5F || b == 0x3A
                || (!first && b >= 0x30 && b <= 0x39)
        }
        while i < bytes.count, isNameByte(bytes[i], first: i == 0) { i += 1 }
        guard i > 0 else { throw LineProblem(text: "no metric name") }
        let name = String(decoding: bytes[0..<i], as: UTF8.self)
        var labels: [String: String] = [:]
        if i < bytes.count, bytes[i] == UInt8(ascii: "{") {
            i += 1
            while true {
                while i < bytes.count, bytes[i] == 0x20 || bytes[i] == UInt8(ascii: ",") { i += 1 }
                guard i < bytes.count else { throw LineProblem(text: "unterminated label set") }
                if bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                let keyStart = i
                while i < bytes.count, isNameByte(bytes[i], first: i == keyStart), bytes[i] != 0x3A { i += 1 }
                guard i > keyStart else { throw LineProblem(text: "bad label name") }
                let key = String(decoding: bytes[keyStart..<i], as: UTF8.self)
                while i < bytes.count, bytes[i] == 0x20 { i += 1 }
                guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else {
                    throw LineProblem(text: "label \(key) has no =\"value\"")
                }
                i += 1
                while i < bytes.count, bytes[i] == 0x20 { i += 1 }
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                    throw LineProblem(text: "label \(key) has no =\"value\"")
                }
                i += 1
                let valueStart = i
                var escaped = false
                while i < bytes.count {
                    if escaped { escaped = false } else if bytes[i] == UInt8(ascii: "\\") { escaped = true }
                    else if bytes[i] == UInt8(ascii: "\"") { break }
                    i += 1
                }
                guard i < bytes.count else { throw LineProblem(text: "unterminated label value") }
                labels[key] = unescape(Array(bytes[valueStart..<i]), quotes: true)
                i += 1
            }
        }
        let rest = String(decoding: bytes[i...], as: UTF8.self)
        let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = fields.first else { throw LineProblem(text: "no value") }
        guard let value = parseNumber(first) else { throw LineProblem(text: "value \"\(first)\" is not a number") }
        var timestamp: Int64?
        if fields.count >= 2 {
            guard let t = Int64(fields[1]) ?? parseNumber(fields[1]).flatMap({ Int64(exactly: $0.rounded()) }) else {
                throw LineProblem(text: "timestamp \"\(fields[1])\" is not a number")
            }
            timestamp = t
        }
        return PrometheusSample(name: name, labels: labels, value: value, timestampMs: timestamp)
    }

    static func parseNumber(_ text: Substring) -> Double? {
        switch text {
        case "+Inf", "Inf", "+inf", "inf": return .infinity
        case "-Inf", "-inf": return -.infinity
        case "NaN", "nan": return .nan
        default: return Double(text)
        }
    }

    /// `\\`, `\n` and (in label values) `\"`; an unknown escape keeps its backslash, as Prometheus does.
    static func unescape(_ bytes: [UInt8], quotes: Bool) -> String {
        guard bytes.contains(UInt8(ascii: "\\")) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                switch bytes[i + 1] {
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "\"") where quotes: out.append(UInt8(ascii: "\""))
                default: out.append(contentsOf: [bytes[i], bytes[i + 1]])
                }
                i += 2
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
