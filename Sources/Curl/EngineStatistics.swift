/// Health counters of one engine loop, for the client-health section of reports.
public struct EngineStatistics: Sendable, Equatable, Codable {
    public var started: UInt64 = 0
    public var completed: UInt64 = 0
    public var activeTransfers: Int = 0
    /// Socket readiness events handled (one per epoll event).
    public var socketEvents: UInt64 = 0
    /// CPU time used by the engine thread.
    public var cpuNanoseconds: UInt64 = 0
    /// How late the loop ran curl's timer versus when curl asked, as counts in power-of-two µs buckets
    /// (bucket i holds lags in [2^(i-1), 2^i) µs; bucket 0 holds lags under 1 µs).
    public var loopLagBuckets: [UInt64] = Array(repeating: 0, count: 32)
    public var loopLagMaxNanoseconds: UInt64 = 0
    public var loopLagSamples: UInt64 = 0

    public init() {}

    mutating func recordLoopLag(nanoseconds: UInt64) {
        let micros = nanoseconds / 1000
        let bucket = micros == 0 ? 0 : min(31, 64 - micros.leadingZeroBitCount)
        loopLagBuckets[bucket] += 1
        loopLagSamples += 1
        loopLagMaxNanoseconds = max(loopLagMaxNanoseconds, nanoseconds)
    }

    /// Upper bound (µs) of the bucket holding the given quantile (0...1) of loop lags.
    public func loopLagUpperBoundMicros(quantile: Double) -> UInt64 {
        guard loopLagSamples > 0 else { return 0 }
        let target = UInt64((Double(loopLagSamples) * quantile).rounded(.up))
        var seen: UInt64 = 0
        for (i, count) in loopLagBuckets.enumerated() {
            seen += count
            if seen >= target { return i == 0 ? 1 : UInt64(1) << UInt64(i) }
        }
        return UInt64(1) << 31
    }
}
