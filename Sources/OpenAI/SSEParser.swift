/// Incremental Server-Sent-Events parser (WHATWG HTML §9.2): `data:` lines, multi-line data, comments,
/// `\n`, `\r\n` and `\r` line ends, and events or UTF-8 sequences split anywhere across network buffers.
///
/// It works on bytes and keeps one reusable line buffer and one data buffer, so parsing allocates nothing per
/// event once the buffers have grown. Each completed event is reported with the receive time of the buffer whose
/// bytes completed it.
public struct SSEParser: Sendable {
    public enum Failure: Error, Equatable, Sendable {
        /// An event's data grew beyond `maxEventBytes` before it ended.
        case eventTooLarge(limit: Int)
    }

    public let maxEventBytes: Int
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    /// The previous buffer ended with `\r`; a `\n` at the start of the next one belongs to the same line end.
    private var pendingCR = false

    public init(maxEventBytes: Int = 16 << 20) {
        self.maxEventBytes = maxEventBytes
        line.reserveCapacity(1024)
        data.reserveCapacity(1024)
    }

    private init(unreservedWithLimit limit: Int) {
        maxEventBytes = limit
    }

    /// An empty parser that owns no buffers, to swap in while the real one is in use.
    static let placeholder = SSEParser(unreservedWithLimit: 0)

    /// Feeds a buffer; calls `onEvent` with each event's data (without the final newline) as it completes.
    /// The bytes passed to `onEvent` are only valid during the call.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer,
                              onEvent: (UnsafeRawBufferPointer) throws -> Void) throws {
        var index = 0
        let count = bytes.count
        if pendingCR && count > 0 {
            pendingCR = false
            if bytes[0] == 0x0A { index = 1 }
        }
        while index < count {
            // Find the next line end quickly; most bytes are ordinary characters.
            var end = index
            while end < count {
                let b = bytes[end]
                if b == 0x0A || b == 0x0D { break }
                end += 1
            }
            if end > index {
                if line.count + (end - index) > maxEventBytes { throw Failure.eventTooLarge(limit: maxEventBytes) }
                line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<end]))
            }
            if end == count { break }
            // A line ended at `end`.
            if bytes[end] == 0x0D {
                if end + 1 < count {
                    index = bytes[end + 1] == 0x0A ? end + 2 : end + 1
                } else {
                    pendingCR = true
                    index = end + 1
                }
            } else {
                index = end + 1
            }
            try processLine(onEvent: onEvent)
        }
    }

    /// Called at end of stream: per the spec an unterminated event is discarded; returns whether one was pending.
    public mutating func finish() -> Bool {
        let pending = hasData || !line.isEmpty
        line.removeAll(keepingCapacity: true)
        data.removeAll(keepingCapacity: true)
        hasData = false
        return pending
    }

    private mutating func processLine(onEvent: (UnsafeRawBufferPointer) throws -> Void) throws {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData else { return }
            // Dispatch: drop the trailing newline added after the last data line.
            if data.last == 0x0A { data.removeLast() }
            try data.withUnsafeBytes { try onEvent($0) }
            data.removeAll(keepingCapacity: true)
            hasData = false
            return
        }
        if line[0] == 0x3A { return }  // ":" comment, e.g. keep-alive pings
        // Split "field: value"; only "data" matters for OpenAI streams ("event", "id", "retry" are ignored).
        var colon = 0
        while colon < line.count && line[colon] != 0x3A { colon += 1 }
        let isData = colon == 4 && line[0] == 0x64 && line[1] == 0x61 && line[2] == 0x74 && line[3] == 0x61
        guard isData else { return }
        var valueStart = colon < line.count ? colon + 1 : line.count
        if valueStart < line.count && line[valueStart] == 0x20 { valueStart += 1 }
        if data.count + (line.count - valueStart) + 1 > maxEventBytes {
            throw Failure.eventTooLarge(limit: maxEventBytes)
        }
        data.append(contentsOf: line[valueStart...])
        data.append(0x0A)
        hasData = true
    }
}
