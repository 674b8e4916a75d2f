import CCurl

/// The single monotonic clock every tpbench timestamp comes from (CLOCK_MONOTONIC, nanoseconds).
public enum MonotonicClock {
    @inline(__always)
    public static func now() -> UInt64 { tp_monotonic_ns() }
}

/// Process-level resource readings for client-health reporting.
public enum ProcessResources {
    public static func cpuNanoseconds() -> UInt64 { tp_process_cpu_ns() }
    public static func maxResidentKiB() -> Int { tp_max_rss_kib() }
    /// Raises the soft open-file limit to the hard limit and returns the new soft limit (nil if unknown).
    public static func raiseOpenFileLimit() -> Int? {
        let limit = tp_raise_nofile_limit()
        return limit < 0 ? nil : limit
    }
}
