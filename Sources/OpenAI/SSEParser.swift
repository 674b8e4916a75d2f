#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Incremental Server-Sent-Events parser (WHATWG HTML §9.2): `data:` lines, multi-line data, comments,
/// `\n`, `\r\n` and `\r` line ends, and events or UTF-8 sequences split anywhere across network buffers.
///
/// It works on bytes and keeps one reusable line buffer and one data buffer, so parsing allocates nothing per
/// event once the buffers have grown. Each completed event is reported with the receive time of the buffer whose
/// bytes completed it.
package struct SSEParser: Sendable {
    package enum Failure: Error, Equatable, Sendable {
        /// An event's data grew beyond `maxEventBytes` before it ended.
        case eventTooLarge(limit: Int)
    }

    package let maxEventBytes: Int
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    /// The previous buffer ended with `\r`; a `\n` at the start of the next one belongs to the same line end.
    private var pendingCR = false

    /// The buffers start empty: they only hold lines split across network buffers and multi-line events, which the
    /// no-copy path leaves rare, and memory per stream counts at 10,000 streams.
    package init(maxEventBytes: Int = 16 << 20) {
        self.maxEventBytes = maxEventBytes
    }

    static let placeholder = SSEParser(maxEventBytes: 0)

    /// Feeds a buffer; calls `onEvent` with each event's data (without the final newline) as it completes.
    /// The bytes passed to `onEvent` are only valid during the call.
    ///
    /// Lines that lie whole in `bytes` are parsed where they are; only a line split across buffers is copied. The
    /// common streaming case, a one-line `data:` event and its blank line in one buffer, reaches `onEvent`
    /// straight from `bytes` without being copied at all.
    package mutating func feed(_ bytes: UnsafeRawBufferPointer,
                              onEvent: (UnsafeRawBufferPointer) throws -> Void) throws {
        var index = 0
        let count = bytes.count
        if pendingCR && count > 0 {
            pendingCR = false
            if bytes[0] == 0x0A { index = 1 }
        }
        while index < count {
            let end = Self.lineEnd(bytes, from: index)
            if line.count + (end - index) > maxEventBytes { throw Failure.eventTooLarge(limit: maxEventBytes) }
            if end == count {
                // The line goes on in the next buffer.
                line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<end]))
                break
            }
            let next = skipLineEnd(bytes, at: end)
            if line.isEmpty {
                let current = UnsafeRawBufferPointer(rebasing: bytes[index..<end])
                if !hasData, next < count, bytes[next] == 0x0A || bytes[next] == 0x0D,
                   let value = Self.dataValue(current) {
                    // A whole one-line event: dispatch it from the buffer.
                    index = skipLineEnd(bytes, at: next)
                    try onEvent(value)
                    continue
                }
                index = next
                try processLine(current, onEvent: onEvent)
            } else {
                line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<end]))
                index = next
                // The line buffer is swapped out while processLine mutates self, then emptied and put back.
                var whole: [UInt8] = []
                swap(&whole, &line)
                defer {
                    whole.removeAll(keepingCapacity: true)
                    swap(&whole, &line)
                }
                try whole.withUnsafeBytes { try processLine($0, onEvent: onEvent) }
            }
        }
    }

    /// The index of the first `\n` or `\r` at or after `start`, or `bytes.count`: memchr (vectorised) for `\n`,
    /// then for a `\r` before it, instead of a loop over every byte of a few-hundred-byte event.
    private static func lineEnd(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return start }
        var end = bytes.count
        if let newline = memchr(base + start, 0x0A, bytes.count - start) {
            end = base.distance(to: UnsafeRawPointer(newline))
        }
        if let carriageReturn = memchr(base + start, 0x0D, end - start) {
            end = base.distance(to: UnsafeRawPointer(carriageReturn))
        }
        return end
    }

    /// The index after the line end (`\n`, `\r\n` or `\r`) at `end`; a `\r` ending the buffer may be the first
    /// half of a `\r\n` split across buffers.
    private mutating func skipLineEnd(_ bytes: UnsafeRawBufferPointer, at end: Int) -> Int {
        guard bytes[end] == 0x0D else { return end + 1 }
        if end + 1 < bytes.count { return bytes[end + 1] == 0x0A ? end + 2 : end + 1 }
        pendingCR = true
        return end + 1
    }

    /// The value of a `data` line (after `data:` and one optional space), or nil for any other line.
    private static func dataValue(_ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard line.count >= 5, line[0] == 0x64, line[1] == 0x61, line[2] == 0x74, line[3] == 0x61,
              line[4] == 0x3A else { return nil }
        let start = line.count > 5 && line[5] == 0x20 ? 6 : 5
        return UnsafeRawBufferPointer(rebasing: line[start...])
    }

    /// Called at end of stream: per the spec an unterminated event is discarded; returns whether one was pending.
    package mutating func finish() -> Bool {
        let pending = hasData || !line.isEmpty
        line.removeAll(keepingCapacity: true)
        data.removeAll(keepingCapacity: true)
        hasData = false
        return pending
    }

    private mutating func processLine(_ line: UnsafeRawBufferPointer,
                                      onEvent: (UnsafeRawBufferPointer) throws -> Void) throws {
        if line.isEmpty {
            guard hasData else { return }
            // Dispatch: drop the trailing newline added after the last data line.
            if data.last == 0x0A { data.removeLast() }
            try data.withUnsafeBytes { try onEvent($0) }
            data.removeAll(keepingCapacity: true)
            hasData = false
            return
        }
        // Only "data" matters for OpenAI streams: comments (":" pings) and "event", "id", "retry" are ignored.
        // A bare "data" line (no colon) is a data line with an empty value.
        let bareData = line.equals("data") ? UnsafeRawBufferPointer(rebasing: line[4...]) : nil
        guard let value = Self.dataValue(line) ?? bareData else { return }
        if data.count + value.count + 1 > maxEventBytes {
            throw Failure.eventTooLarge(limit: maxEventBytes)
        }
        data.append(contentsOf: value)
        data.append(0x0A)
        hasData = true
    }
}
