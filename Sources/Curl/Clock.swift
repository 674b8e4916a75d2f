import CCurl

/// The single monotonic clock every tpbench timestamp comes from (CLOCK_MONOTONIC, nanoseconds).
package enum MonotonicClock {
    @inline(__always)
    package static func now() -> UInt64 { tp_monotonic_ns() }
}

/// Process-level resource readings for client-health reporting.
package enum ProcessResources {
    package static func cpuNanoseconds() -> UInt64 { tp_process_cpu_ns() }
    package static func maxResidentKiB() -> Int { tp_max_rss_kib() }
    /// Raises the soft open-file limit to the hard limit and returns the new soft limit (nil if unknown).
    package static func raiseOpenFileLimit() -> Int? {
        let limit = tp_raise_nofile_limit()
        return limit < 0 ? nil : limit
    }
}

/// Time conversions that saturate instead of trapping: a timeout, a timer or a deadline from any source (a flag,
/// libcurl, a server) becomes a bounded integer of the unit asked for.
enum SaturatingTime {
    /// The longest wait tpbench converts: 30 days, far beyond any timeout Limits allows and within every integer type used.
    static let maxMilliseconds = 2_592_000_000.0

    /// Milliseconds (any Double, NaN included) as nanoseconds, in 0...30 days.
    static func nanoseconds(milliseconds ms: Double) -> UInt64 {
        guard ms > 0 else { return 0 }  // also NaN
        return UInt64(min(ms, maxMilliseconds) * 1_000_000)
    }

    /// Milliseconds as a libcurl `long` option value, at least 1, at most 30 days.
    static func curlMilliseconds(_ ms: Double) -> Int {
        guard ms >= 1 else { return 1 }  // also NaN
        return Int(min(ms, maxMilliseconds))
    }

    /// `now` plus a libcurl timer's milliseconds, saturating at UInt64.max.
    static func deadline(after ms: Int, from now: UInt64) -> UInt64 {
        let ns = UInt64(min(max(0, ms), Int(maxMilliseconds))) * 1_000_000
        let (sum, overflow) = now.addingReportingOverflow(ns)
        return overflow ? .max : sum
    }

    /// The epoll_wait timeout for a wait of `ns`, rounded up so the loop never wakes before a deadline, at most
    /// `cap` milliseconds.
    static func epollTimeoutMs(waitingNanoseconds ns: UInt64, cap: Int32) -> Int32 {
        let ms = ns / 1_000_000 + (ns % 1_000_000 == 0 ? 0 : 1)
        return ms >= UInt64(cap) ? cap : Int32(ms)
    }
}

/// The libcurl this process runs on, and what its version means for HTTP/2.
package enum LibCurl {
    /// e.g. 0x075801 for 7.88.1.
    package static var versionNumber: UInt32 { UInt32(tp_version_info().pointee.version_num) }
    package static var version: String { String(cString: tp_version_info().pointee.version) }

    /// Whether a cleartext HTTP/2 connection (prior knowledge) can carry more than one request. Before 7.89.0 a
    /// reused prior-knowledge connection fails every later request with "Error in the HTTP2 framing layer"
    /// (curl issue 10634, fixed by pull request 10643); Debian 12 ships 7.88.1.
    package static var reusesPriorKnowledgeConnections: Bool { versionNumber >= 0x075900 }
}
