import CCurl

/// Where a buffer's receive time comes from (`--receive-time`).
package enum ReceiveTimeSource: String, Sendable, CaseIterable, Codable {
    /// The kernel's stamp of the first waiting packet (SO_TIMESTAMPNS), for the first buffer read from a socket in a
    /// wake-up; later buffers of that wake-up carry the time libcurl hands them over.
    case kernel
    /// The moment epoll_wait returned, for every buffer of the wake-up.
    case wake
}

/// The receive time libcurl's callbacks stamp buffers with, set by the loop around each socket it hands to libcurl
/// (loop thread only; the transfers hold a pointer to it).
///
/// The rule, one for every metric: a buffer is stamped with the earliest time the client knows its bytes had
/// arrived. For the first buffer read from a socket in a wake-up that is the kernel's receive time of the packet at
/// the head of the socket's queue (it holds those bytes); the buffers after it hold bytes that came later, at a time
/// the client cannot see, so they carry the time libcurl handed them over, an upper bound (the wake-up's time could
/// be earlier than bytes that came while the wake-up ran). With `--receive-time wake` every buffer carries the
/// wake-up's time.
struct ReceiveStamp {
    /// When epoll_wait returned for the wake-up being processed.
    var wake: UInt64
    /// The kernel's receive time for the next buffer read from `socket`, 0 once a buffer has taken it (or when there
    /// is none).
    var kernel: UInt64 = 0
    /// The connection the kernel's time belongs to, as (local port << 16 | remote port): libcurl's call for one
    /// socket may also run other transfers whose timers expired, and their buffers must not take this socket's
    /// time. Ports, not the socket number, because libcurl names a transfer's connection to its pre-request callback
    /// on every attempt (its socket callback stays silent for a transfer reusing a watched connection).
    var connection: UInt32 = 0
    /// The kernel's times of the wake-up's other ready sockets not yet read, by connection: a transfer libcurl runs
    /// on a timer while handling another socket reads its own socket early and takes its own time from here.
    var waiting: [UInt32: UInt64] = [:]
    /// Buffers (and header lines) stamped with each kind of time, counted for client health.
    var kernelStamped: UInt64 = 0
    var wakeStamped: UInt64 = 0
    /// Kernel mode: buffers without the kernel's time are stamped when handed over, not at the wake-up.
    let stampLaterBuffersWhenRead: Bool

    init(wake: UInt64, stampLaterBuffersWhenRead: Bool = false) {
        self.wake = wake
        self.stampLaterBuffersWhenRead = stampLaterBuffersWhenRead
    }

    /// The time for a buffer of a transfer on `connection` (its ports as its last pre-request callback gave them):
    /// the kernel's, once per socket read and only for a transfer on that socket, then the time it is handed over.
    @inline(__always)
    mutating func take(connection transferConnection: UInt32) -> UInt64 {
        if let k = takeKernelTime(connection: transferConnection) {
            kernelStamped &+= 1
            return k
        }
        wakeStamped &+= 1
        return fallback
    }

    /// The time for a response header line (not counted: no metric reads it). It uses up the kernel's time, so a
    /// body buffer read behind the headers is never stamped with the time the headers came.
    @inline(__always)
    mutating func takeForHeader(connection transferConnection: UInt32) -> UInt64 {
        takeKernelTime(connection: transferConnection) ?? fallback
    }

    /// The kernel's time for `connection`'s socket, used up: the socket being read, or another ready one of this
    /// wake-up (`waiting`).
    @inline(__always)
    private mutating func takeKernelTime(connection transferConnection: UInt32) -> UInt64? {
        guard transferConnection != 0 else { return nil }  // no pre-request callback yet: its socket is unknown
        if kernel != 0, transferConnection == connection {
            defer { kernel = 0 }
            return kernel
        }
        return waiting.isEmpty ? nil : waiting.removeValue(forKey: transferConnection)
    }

    /// A buffer's time without the kernel's: when it is handed over (kernel mode), else the wake-up's.
    private var fallback: UInt64 { stampLaterBuffersWhenRead ? max(wake, tp_monotonic_ns()) : wake }
}
