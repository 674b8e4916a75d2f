import CCurl
import CReceiveTime
@testable import Curl
import Foundation
import Testing

/// The process's `recv` and `poll` (Sources/CReceiveTime): libcurl's reads carry the kernel's receive time, and the
/// poll after a read that emptied the socket costs no system call, without changing what a reader sees.
struct ReceiveTimeTests {
    /// A connected TCP pair on 127.0.0.1 (reader, writer); the reader has SO_TIMESTAMPNS on.
    static func loopbackPair() throws -> (reader: Int32, writer: Int32) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        try #require(bound == 0 && listen(listener, 1) == 0)
        let reader = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(reader, $0, length) }
        }
        let writer = accept(listener, nil, nil)
        try #require(connected == 0 && writer >= 0)
        try #require(tp_enable_receive_times(reader) == 0)
        return (reader, writer)
    }

    static func send(_ text: String, on fd: Int32) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
    }

    static func read(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
        buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
    }

    /// CLOCK_REALTIME in ns (the kernel stamps packets on it).
    static func realtimeNow() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    @Test func theProcessReadsThroughTheInterposedCalls() {
        #expect(tp_receipts_interposed() == 1, "libcurl's recv/poll would be libc's: no kernel receive times")
    }

    /// Sync on purpose: receipts are per thread, and the test must not hop threads between start and stop.
    @Test func aReadCarriesTheKernelsTimeOfItsLastPacketNotTheTimeOfTheRead() throws {
        let (reader, writer) = try Self.loopbackPair()
        defer { close(reader); close(writer) }
        let receipt = tp_receipts_start()
        defer { tp_receipts_stop() }
        let readsBefore = receipt.pointee.reads
        let first = Self.realtimeNow()
        Self.send("data: one\n\n", on: writer)
        usleep(20_000)
        let second = Self.realtimeNow()
        Self.send("data: two\n\n", on: writer)
        usleep(30_000)  // the read comes 30 ms after the last packet
        var buffer = [UInt8](repeating: 0, count: 4096)
        let readAt = Self.realtimeNow()
        let n = Self.read(reader, into: &buffer)
        #expect(n == 22)
        #expect(receipt.pointee.reads == readsBefore + 1)
        #expect(receipt.pointee.socket == reader)
        let stamped = receipt.pointee.realtime_ns
        // The last packet's arrival: after it was sent, well before the read (within 2 ms of the send).
        #expect(stamped >= second && stamped < second + 2_000_000, "stamp \(Int64(stamped) - Int64(second)) ns after the second send")
        #expect(stamped > first + 15_000_000 && stamped + 25_000_000 < readAt)
    }

    @Test func withoutReceiptsAReadIsAPlainRead() throws {
        let (reader, writer) = try Self.loopbackPair()
        defer { close(reader); close(writer) }
        let receipt = tp_receipts_start()
        tp_receipts_stop()
        let readsBefore = receipt.pointee.reads
        Self.send("hello", on: writer)
        usleep(5_000)
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(Self.read(reader, into: &buffer) == 5)
        #expect(Array(buffer.prefix(5)) == Array("hello".utf8))
        #expect(receipt.pointee.reads == readsBefore)
    }

    /// After a read that returned less than it asked for, one zero-timeout poll of that socket says "nothing more"
    /// without asking the kernel, even if bytes came in between; the poll after it asks the kernel, and the bytes
    /// are there to read. A full read, a question about writing, a timeout or a thread without receipts always asks
    /// the kernel.
    @Test func thePollAfterADrainingReadIsAnsweredOnceAndNothingIsLost() throws {
        let (reader, writer) = try Self.loopbackPair()
        defer { close(reader); close(writer) }
        _ = tp_receipts_start()
        defer { tp_receipts_stop() }
        var buffer = [UInt8](repeating: 0, count: 64)
        func pollReadable(timeoutMs: Int32 = 0) -> Int32 {
            var entry = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
            return poll(&entry, 1, timeoutMs)
        }
        Self.send("first", on: writer)
        usleep(5_000)
        #expect(Self.read(reader, into: &buffer) == 5)  // short: the socket is empty now
        Self.send("second", on: writer)
        usleep(5_000)
        #expect(pollReadable() == 0)                     // answered from the read: it was empty then
        #expect(pollReadable() == 1)                     // the kernel's answer: "second" waits
        #expect(Self.read(reader, into: &buffer) == 6)
        #expect(Array(buffer.prefix(6)) == Array("second".utf8))

        // A read that filled the buffer says nothing about what is left.
        Self.send(String(repeating: "x", count: 100), on: writer)
        usleep(5_000)
        #expect(Self.read(reader, into: &buffer) == 64)
        #expect(pollReadable() == 1)
        #expect(Self.read(reader, into: &buffer) == 36)
        // Writability is always the kernel's answer, even right after a draining read.
        Self.send("ok", on: writer)
        usleep(5_000)
        #expect(Self.read(reader, into: &buffer) == 2)
        var writable = pollfd(fd: reader, events: Int16(POLLOUT), revents: 0)
        #expect(poll(&writable, 1, 0) == 1 && writable.revents & Int16(POLLOUT) != 0)
        // After the loop forgets the drained socket (end of a libcurl call), the kernel answers.
        Self.send("third", on: writer)
        usleep(5_000)
        tp_receipts_forget_drained()
        #expect(pollReadable() == 1)
        #expect(Self.read(reader, into: &buffer) == 5)
        // A poll with a timeout always waits in the kernel: 20 ms with nothing to read.
        let start = Date()
        #expect(pollReadable(timeoutMs: 20) == 0)
        #expect(Date().timeIntervalSince(start) >= 0.018)
        // Without receipts the poll is the kernel's, even right after a draining read.
        tp_receipts_stop()
        Self.send("fourth", on: writer)
        usleep(5_000)
        #expect(Self.read(reader, into: &buffer) == 6)
        Self.send("fifth", on: writer)
        usleep(5_000)
        #expect(pollReadable() == 1)
    }

    /// A buffer takes the kernel's time of the thread's last read only when that read was on its own connection
    /// (matched by ports, as libcurl's pre-request callback gives them); otherwise, or when the packets carried no
    /// time, it is stamped when handed over, never earlier than the wake-up.
    @Test func aBufferTakesTheLastReadsTimeOnlyOnItsOwnConnection() throws {
        let (reader, writer) = try Self.loopbackPair()
        let (otherReader, otherWriter) = try Self.loopbackPair()
        defer { for fd in [reader, writer, otherReader, otherWriter] { close(fd) } }
        let ports = tp_socket_ports(reader)
        let otherPorts = tp_socket_ports(otherReader)
        try #require(ports != 0 && otherPorts != 0 && ports != otherPorts)
        let receipt = UnsafeMutablePointer<tp_receipt>.allocate(capacity: 1)
        defer { receipt.deallocate() }
        let wake = tp_monotonic_ns()
        let arrivedReal = Self.realtimeNow() - 3_000_000  // 3 ms before the wake-up
        receipt.initialize(to: tp_receipt(socket: reader, realtime_ns: arrivedReal, reads: 1))
        var stamp = ReceiveStamp(wake: wake)
        stamp.receipt = receipt
        // Its own connection: the kernel's time, on the monotonic clock (3 ms before the wake-up, to the conversion).
        let own = stamp.take(connection: ports)
        #expect(own < wake && wake - own > 2_900_000 && wake - own < 3_100_000, "\(Int64(wake) - Int64(own)) ns")
        #expect(stamp.kernelStamped == 1 && stamp.readWaits.readWaitSamples == 1)
        // Another transfer's buffer after that read (HTTP/2 data read earlier, a timer-run transfer): handed-over time.
        let other = stamp.take(connection: otherPorts)
        #expect(other >= wake && stamp.wakeStamped == 1)
        // No pre-request callback yet: its connection is unknown.
        #expect(stamp.take(connection: 0) >= wake && stamp.wakeStamped == 2)
        // Packets that came before the socket stamped: handed-over time, and the socket is asked to stamp.
        func stamps(_ fd: Int32) -> Int32 {
            var on: Int32 = -1
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, &length)
            return on
        }
        var off: Int32 = 0
        _ = setsockopt(otherReader, SOL_SOCKET, SO_TIMESTAMPNS, &off, socklen_t(MemoryLayout<Int32>.size))
        try #require(stamps(otherReader) == 0)
        receipt.pointee = tp_receipt(socket: otherReader, realtime_ns: 1, reads: 2)
        #expect(stamp.take(connection: otherPorts) >= wake && stamp.wakeStamped == 3)
        #expect(stamps(otherReader) == 1)
        // Wake-up mode (no receipt): every buffer carries the wake-up's time.
        var wakeOnly = ReceiveStamp(wake: wake)
        #expect(wakeOnly.take(connection: ports) == wake && wakeOnly.kernelStamped == 0)
    }
}
