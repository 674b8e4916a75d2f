import Foundation

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
    /// How long each wake-up took from epoll_wait's return (the time every byte of that wake-up is stamped with) to
    /// the end of its processing: bytes that arrived meanwhile carry a stamp up to this early, and bytes that
    /// arrived during the previous wake-up one up to this late. So it bounds the client's timing error. Buckets of
    /// a quarter power of two in µs (`TimingBuckets`).
    public var batchBuckets: [UInt64] = Array(repeating: 0, count: TimingBuckets.count)
    public var batchMaxNanoseconds: UInt64 = 0
    public var batchSamples: UInt64 = 0
    /// Time the engine thread was runnable but waiting for a CPU (the kernel's run-queue delay): events that came
    /// meanwhile wait unread, which no stamp taken by the thread can see. Nil where the kernel does not say.
    public var runQueueWaitNanoseconds: UInt64?

    public init() {}

    mutating func recordBatch(nanoseconds: UInt64) {
        batchBuckets[TimingBuckets.index(nanoseconds: nanoseconds)] += 1
        batchSamples += 1
        batchMaxNanoseconds = max(batchMaxNanoseconds, nanoseconds)
    }

    /// Upper bound (µs) of the bucket holding the given quantile (0...1) of wake-up durations (the timestamps'
    /// uncertainty); 0 without samples.
    public func timestampUncertaintyMicros(quantile: Double) -> Double {
        Self.bucket(holding: quantile, of: batchBuckets, samples: batchSamples).map(TimingBuckets.upperBoundMicros) ?? 0
    }

    /// The index of the bucket holding `quantile` of `samples` counts (the last bucket if counts fall short); nil
    /// without samples.
    static func bucket(holding quantile: Double, of buckets: [UInt64], samples: UInt64) -> Int? {
        guard samples > 0 else { return nil }
        let target = UInt64((Double(samples) * quantile).rounded(.up))
        var seen: UInt64 = 0
        for (i, count) in buckets.enumerated() {
            seen += count
            if seen >= target { return i }
        }
        return buckets.count - 1
    }

    /// Adds another engine's wake-up durations (for one figure over all engines).
    public mutating func mergeBatches(_ other: EngineStatistics) {
        for i in batchBuckets.indices { batchBuckets[i] += other.batchBuckets[i] }
        batchSamples += other.batchSamples
        batchMaxNanoseconds = max(batchMaxNanoseconds, other.batchMaxNanoseconds)
    }

    mutating func recordLoopLag(nanoseconds: UInt64) {
        let micros = nanoseconds / 1000
        let bucket = micros == 0 ? 0 : min(31, 64 - micros.leadingZeroBitCount)
        loopLagBuckets[bucket] += 1
        loopLagSamples += 1
        loopLagMaxNanoseconds = max(loopLagMaxNanoseconds, nanoseconds)
    }

    /// Upper bound (µs) of the bucket holding the given quantile (0...1) of loop lags.
    public func loopLagUpperBoundMicros(quantile: Double) -> UInt64 {
        guard let i = Self.bucket(holding: quantile, of: loopLagBuckets, samples: loopLagSamples) else { return 0 }
        return i == 0 ? 1 : UInt64(1) << UInt64(i)
    }
}

/// Log-linear buckets for short durations: below 1 µs in bucket 0, then four per power of two of µs (1, 1.19, 1.41,
/// 1.68, 2 …), so a p99 is read to within 19% instead of the 2x of a power-of-two bucket.
public enum TimingBuckets {
    public static let count = 4 * 32

    static func index(nanoseconds: UInt64) -> Int {
        let micros = Double(nanoseconds) / 1000
        guard micros >= 1 else { return 0 }
        return min(count - 1, 1 + Int((log2(micros) * 4).rounded(.down)))
    }

    /// The upper edge (µs) of bucket `index`.
    public static func upperBoundMicros(_ index: Int) -> Double {
        index == 0 ? 1 : pow(2, Double(index) / 4)
    }
}
