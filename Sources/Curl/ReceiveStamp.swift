import CCurl
import CReceiveTime

/// Where a buffer's receive time comes from (`--receive-time`).
package enum ReceiveTimeSource: String, Sendable, CaseIterable, Codable {
    /// The kernel's receive time (SO_TIMESTAMPNS) of the last packet libcurl's read took bytes from, read in that
    /// same read (`CReceiveTime`).
    case kernel
    /// The moment epoll_wait returned, for every buffer of the wake-up.
    case wake
}

/// The receive time libcurl's callbacks stamp buffers with (loop thread only; the transfers hold a pointer to it).
///
/// The rule, one for every metric: a buffer is stamped with the earliest time the client knows all its bytes had
/// arrived. In kernel mode that is the kernel's receive time of the last packet of the read that brought them: every
/// `recv` libcurl makes on the loop thread goes through `CReceiveTime`, which reads with recvmsg(2) and keeps the
/// time the kernel attaches (no extra system call), and the buffer takes it when the read was on the transfer's own
/// connection. A buffer libcurl hands over without such a read (a TLS record or an HTTP/2 frame read earlier, for a
/// transfer it runs later) carries the time it is handed over, an upper bound. With `--receive-time wake` every
/// buffer carries the wake-up's time.
struct ReceiveStamp {
    /// When epoll_wait returned for the wake-up being processed.
    var wake: UInt64 {
        didSet { realtimeOffset = nil }
    }
    /// Where this thread's reads leave the kernel's time (kernel mode, once the loop thread runs); nil: stamp at
    /// wake-up.
    var receipt: UnsafeMutablePointer<tp_receipt>?
    /// CLOCK_REALTIME − CLOCK_MONOTONIC for the current wake-up, read when its first kernel time is converted.
    private var realtimeOffset: Int64?
    /// Each socket's connection ports (local << 16 | remote) by descriptor, 0 when not read yet: a read is matched to
    /// a transfer by its connection's ports, which libcurl's pre-request callback gives on every attempt.
    private var ports: [UInt32] = []
    /// The read whose socket had no kernel time and was asked to stamp (once per read, not per buffer).
    private var enabledAtRead: UInt64 = 0
    /// Buffers (and header lines) stamped with each kind of time, counted for client health.
    var kernelStamped: UInt64 = 0
    var wakeStamped: UInt64 = 0
    /// How long each kernel-stamped buffer's data had waited before the wake-up that read it (only the read-wait
    /// counts are used), merged into the loop's statistics and reset when it publishes.
    var readWaits = MultiLoopStatistics()

    init(wake: UInt64) {
        self.wake = wake
    }

    /// The time for a buffer of a transfer on `connection` (its ports as its last pre-request callback gave them).
    @inline(__always)
    mutating func take(connection transferConnection: UInt32) -> UInt64 {
        if let k = kernelTime(connection: transferConnection) {
            kernelStamped &+= 1
            return k
        }
        wakeStamped &+= 1
        return fallback
    }

    /// The time for a response header line (not counted: no metric reads it).
    @inline(__always)
    mutating func takeForHeader(connection transferConnection: UInt32) -> UInt64 {
        kernelTime(connection: transferConnection) ?? fallback
    }

    /// libcurl stopped watching `socket`: its number may next belong to another connection.
    mutating func forget(socket: Int32) {
        if socket >= 0, Int(socket) < ports.count { ports[Int(socket)] = 0 }
    }

    /// The kernel's time of this thread's last read, when that read was on `connection`.
    @inline(__always)
    private mutating func kernelTime(connection transferConnection: UInt32) -> UInt64? {
        guard let receipt, transferConnection != 0 else { return nil }  // no pre-request callback yet
        let last = receipt.pointee
        guard last.reads != 0, ports(of: last.socket) == transferConnection else { return nil }
        guard last.realtime_ns > 1 else {
            // Bytes that came before the socket was asked to stamp (its number reused before libcurl said so).
            if enabledAtRead != last.reads {
                enabledAtRead = last.reads
                _ = tp_enable_receive_times(last.socket)
            }
            return nil
        }
        let offset = realtimeOffset ?? tp_realtime_offset_ns()
        realtimeOffset = offset
        let (at, overflow) = Int64(bitPattern: last.realtime_ns).subtractingReportingOverflow(offset)
        guard !overflow, at > 0 else { return nil }
        let arrived = UInt64(at)
        readWaits.recordReadWait(nanoseconds: wake > arrived ? wake - arrived : 0)
        return arrived
    }

    /// `socket`'s connection ports, read from the kernel once per connection.
    @inline(__always)
    private mutating func ports(of socket: Int32) -> UInt32 {
        let index = Int(socket)
        guard index >= 0 else { return 0 }
        if index < ports.count, ports[index] != 0 { return ports[index] }
        let read = tp_socket_ports(socket)
        if read != 0 {
            if index >= ports.count { ports.append(contentsOf: repeatElement(0, count: index + 1 - ports.count)) }
            ports[index] = read
        }
        return read
    }

    /// A buffer's time without the kernel's: when it is handed over (kernel mode), else the wake-up's.
    private var fallback: UInt64 { receipt != nil ? max(wake, tp_monotonic_ns()) : wake }
}
