#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Metrics
import NIOConcurrencyHelpers

/// The append-only `requests.jsonl` of a run: one `RequestRecord` per line, written and flushed as each request
/// finishes, so a crash or SIGKILL loses nothing already measured.
///
/// LoadRunner's record queue calls `append` as each record is finished (off the loop threads, which never wait
/// for the disk); `append` is safe from any thread: encoding happens on the caller's thread and only the write and
/// flush hold the lock.
package final class RequestLog: Sendable {
    /// The file name inside a run directory.
    package static let fileName = "requests.jsonl"

    package let url: URL
    // A lock rather than an actor: the record queue calls it from synchronous code that must not await.
    private let file: NIOLockedValueBox<FileState>

    // The FILE pointer is only ever used under the lock.
    private struct FileState: @unchecked Sendable {
        var stream: UnsafeMutablePointer<FILE>?
    }

    /// Creates the log at `url`, replacing one an earlier run left there: a run into a directory replaces its
    /// report, result and CSVs, and its log must hold that run's records only (appended, they were merged into
    /// the new run's requests.csv and any later `tpbench report` of it).
    /// - Throws: `ReportError` when the file cannot be opened (missing directory, permissions).
    package init(url: URL) throws {
        guard let stream = fopen(url.path, "w") else {
            throw ReportError(what: "cannot create the request log", path: url.path,
                              reason: String(cString: strerror(errno)),
                              fix: "check that the directory exists and is writable")
        }
        self.url = url
        self.file = NIOLockedValueBox(FileState(stream: stream))
    }

    deinit {
        file.withLockedValue { state in
            if let stream = state.stream { fclose(stream) }
            state.stream = nil
        }
    }

    /// Appends one record as one line and flushes it to the kernel (which keeps it if the process dies; an fsync
    /// per request would only add power-loss safety at a large cost).
    /// - Throws: `ReportError` on a short write or failed flush (disk full, I/O error) or after `close()`.
    package func append(_ record: RequestRecord) throws {
        var line = try Self.encode(record)
        line.append(0x0A)
        let failure: String? = file.withLockedValue { state in
            guard let stream = state.stream else { return "the log is closed" }
            let written = line.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, stream) }
            if written != line.count || fflush(stream) != 0 {
                let reason = String(cString: strerror(errno))
                clearerr(stream)
                return reason
            }
            return nil
        }
        if let failure {
            throw ReportError(what: "cannot append request \(record.id) to the request log", path: url.path,
                              reason: failure, fix: "free disk space or choose another --out directory")
        }
    }

    /// Flushes and closes the file; later appends throw.
    package func close() throws {
        let failed: Bool = file.withLockedValue { state in
            guard let stream = state.stream else { return false }
            state.stream = nil
            return fclose(stream) != 0
        }
        if failed {
            throw ReportError(what: "cannot close the request log", path: url.path,
                              reason: String(cString: strerror(errno)), fix: "check free disk space")
        }
    }

    /// One record as compact JSON. Non-finite numbers become strings rather than failing the whole line.
    static func encode(_ record: RequestRecord) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(record)
    }
}

/// Records read back from a `requests.jsonl`.
package struct RequestLogContents: Sendable {
    package var records: [RequestRecord]
    /// Lines that could not be decoded: only a truncated last line (the writer was killed mid-write) is skipped.
    package var skippedLines: Int
}

extension RequestLog {
    /// Reads a request log, tolerating an incomplete last line.
    /// - Throws: `ReportError` when the file is missing or unreadable, or a line other than the last is not a
    ///   request record (then the file is not a tpbench request log, or was edited).
    package static func read(from url: URL) throws -> RequestLogContents {
        var records: [RequestRecord] = []
        let skipped = try forEachRecord(in: url) { records.append($0) }
        return RequestLogContents(records: records, skippedLines: skipped)
    }

    private static func openForReading(_ url: URL) throws -> UnsafeMutablePointer<FILE> {
        guard let stream = fopen(url.path, "r") else {
            throw ReportError(what: "cannot read the request log", path: url.path,
                              reason: String(cString: strerror(errno)),
                              fix: "pass a run directory or a requests.jsonl written by `tpbench run`")
        }
        return stream
    }

    /// Calls `body` with each record of a request log in file order, one line in memory at a time, skipping an
    /// incomplete last line (the writer was killed mid-write).
    /// - Returns: the number of lines skipped (0 or 1).
    /// - Throws: as `read(from:)`, or what `body` throws.
    @discardableResult
    package static func forEachRecord(in url: URL, _ body: (RequestRecord) throws -> Void) throws -> Int {
        let stream = try openForReading(url)
        defer { fclose(stream) }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        // One line is held back until the next is read, so the last line is known as the last.
        var pending: (number: Int, data: Data)?
        var lineNumber = 0
        var skipped = 0
        func process(_ line: (number: Int, data: Data), isLast: Bool) throws {
            if line.data.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return }
            let record: RequestRecord
            do {
                record = try decoder.decode(RequestRecord.self, from: line.data)
            } catch {
                guard isLast else {
                    throw ReportError(what: "line \(line.number) is not a request record", path: url.path,
                                      reason: Self.describe(error), fix: "pass a requests.jsonl written by `tpbench run`")
                }
                skipped += 1
                return
            }
            try body(record)
        }
        while true {
            let length = getline(&buffer, &capacity, stream)
            guard length >= 0, let buffer else { break }
            lineNumber += 1
            var count = length
            if count > 0, buffer[count - 1] == 0x0A { count -= 1 }
            let data = Data(bytes: buffer, count: count)
            if let previous = pending { try process(previous, isLast: false) }
            pending = (lineNumber, data)
        }
        if ferror(stream) != 0 {
            throw ReportError(what: "cannot read the request log", path: url.path,
                              reason: String(cString: strerror(errno)), fix: "check the file and the disk")
        }
        if let last = pending { try process(last, isLast: true) }
        return skipped
    }

    /// Newline-terminated lines in a request log (an upper bound on its records), counted without decoding.
    package static func lineCount(in url: URL) throws -> Int {
        let stream = try openForReading(url)
        defer { fclose(stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var lines = 0
        while true {
            let read = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, stream) }
            if read == 0 { break }
            for byte in chunk[..<read] where byte == 0x0A { lines += 1 }
        }
        return lines
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
             DecodingError.dataCorrupted(let context):
            context.codingPath.isEmpty ? "not valid JSON"
                : "bad value at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "\(error)"
        }
    }
}

/// A report input or output problem: what failed, where, why, and how to fix it.
package struct ReportError: Error, Sendable, CustomStringConvertible {
    package var what: String
    package var path: String
    package var reason: String
    package var fix: String

    package init(what: String, path: String, reason: String, fix: String) {
        self.what = what
        self.path = path
        self.reason = reason
        self.fix = fix
    }

    package var description: String { "\(what): \(path): \(reason) (\(fix))" }
}
