import NIOCore
import NIOHTTP1

/// One tick's (or one scheduler step's) streamed bytes, pre-framed as HTTP/1.1 chunks in one buffer.
///
/// Why: writing every event through NIO's HTTP encoder cost a `NIOAny` box, three encoder writes (size line, data,
/// CRLF) and a pipeline walk per stream per event; at 1000 streams × 50 events/s that was most of the mock's
/// ~16 µs per emission. Here each stream's events of the tick are rendered into one shared buffer (one
/// allocation per tick), framed in place, and handed to the socket end of the pipeline as one write + flush per
/// stream. The response head and the terminating `.end` still go through the encoder, so it stays in charge of
/// keep-alive and the chunked terminator.
struct EmissionBatch {
    /// Hex digits reserved in front of each chunk: up to 16 MiB per stream per tick.
    private static let sizeDigits = 6
    private static let headerBytes = sizeDigits + 2

    struct Entry {
        let request: ActiveRequest
        /// Start of the framed chunk (after the size line is right-aligned into the reserved space).
        var start: Int
        var end: Int
        /// The events' bytes without the chunk framing (what an HTTP/2 stream sends as DATA).
        var payloadStart: Int
        var payloadEnd: Int
        /// Scheduled time of the stream's earliest event in this batch, for the lateness histogram.
        let deadline: UInt64
        /// The stream ended: send the encoder's `.end` after the chunk.
        var last = false
        /// --drop-rate: close the connection after this chunk.
        var closeAfter = false
    }

    /// Events are rendered straight into this between `open` and `close`.
    var buffer: ByteBuffer
    private(set) var entries: [Entry] = []
    private var openHeader: Int? = nil

    init(allocator: ByteBufferAllocator, capacity: Int) {
        buffer = allocator.buffer(capacity: capacity)
        entries.reserveCapacity(64)
    }

    /// Starts `request`'s chunk; its events are written into `buffer` until `close`.
    mutating func open(_ request: ActiveRequest, deadline: UInt64) {
        let header = buffer.writerIndex
        buffer.writeRepeatingByte(UInt8(ascii: "0"), count: Self.headerBytes)
        openHeader = header
        entries.append(Entry(request: request, start: header, end: header, payloadStart: header + Self.headerBytes,
                             payloadEnd: header + Self.headerBytes, deadline: deadline))
    }

    /// Frames the open chunk; drops it when nothing was written (e.g. a multi-token event still filling up).
    mutating func close(last: Bool = false, closeAfter: Bool = false) {
        guard let header = openHeader else { return }
        openHeader = nil
        let payload = buffer.writerIndex - header - Self.headerBytes
        if payload == 0 && !last && !closeAfter {
            buffer.moveWriterIndex(to: header)
            entries.removeLast()
            return
        }
        var start = header + Self.headerBytes
        if payload > 0 {
            buffer.writeStaticString("\r\n")
            start = Self.writeSizeLine(payload, into: &buffer, header: header)
        }
        entries[entries.count - 1].start = start
        entries[entries.count - 1].end = buffer.writerIndex
        entries[entries.count - 1].payloadEnd = header + Self.headerBytes + payload
        entries[entries.count - 1].last = last
        entries[entries.count - 1].closeAfter = closeAfter
    }

    /// Writes "<hex>\r\n" right-aligned into the reserved header; returns where the chunk now starts.
    private static func writeSizeLine(_ size: Int, into buffer: inout ByteBuffer, header: Int) -> Int {
        let digits = Swift.max(1, (Int.bitWidth - size.leadingZeroBitCount + 3) / 4)
        precondition(digits <= sizeDigits, "chunk over 16 MiB")
        let start = header + sizeDigits - digits
        var value = size
        var index = header + sizeDigits - 1
        while index >= start {
            let nibble = UInt8(value & 0xF)
            buffer.setInteger(nibble < 10 ? nibble + 48 : nibble + 87, at: index)
            value >>= 4
            index -= 1
        }
        buffer.setInteger(UInt8(13), at: header + sizeDigits)
        buffer.setInteger(UInt8(10), at: header + sizeDigits + 1)
        return start
    }
}

/// The socket end of each connection's pipeline: `EmissionBatch` writes pre-framed chunks through its context,
/// skipping the HTTP encoder. It passes every other write through untouched.
final class RawChunkWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    private(set) var context: ChannelHandlerContext? = nil

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes and flushes bytes that are already valid HTTP/1.1 chunks.
    func writeFramed(_ bytes: ByteBuffer, flush: Bool) {
        guard let context else { return }
        context.write(NIOAny(IOData.byteBuffer(bytes)), promise: nil)
        if flush { context.flush() }
    }
}
