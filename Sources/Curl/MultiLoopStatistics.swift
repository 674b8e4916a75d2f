import Foundation

/// Health counters of one client loop, for the client-health section of reports.
package struct MultiLoopStatistics: Sendable, Equatable, Codable {
    package var started: UInt64 = 0
    package var completed: UInt64 = 0
    package var activeTransfers: Int = 0
    /// Socket readiness events handled (one per epoll event).
    package var socketEvents: UInt64 = 0
    /// CPU time used by the loop thread.
    package var cpuNanoseconds: UInt64 = 0
    /// How late the loop ran curl's timer versus when curl asked, as counts in power-of-two µs buckets
    /// (bucket i holds lags in [2^(i-1), 2^i) µs; bucket 0 holds lags under 1 µs).
    package var loopLagBuckets: [UInt64] = Array(repeating: 0, count: 32)
    package var loopLagMaxNanoseconds: UInt64 = 0
    package var loopLagSamples: UInt64 = 0
    /// How far each buffer's receive stamp may be off (`ReceiveStamp`), one sample per buffer: under 1 µs for a buffer
    /// stamped with the kernel's receive time; for one stamped when libcurl handed it over, how long before then its
    /// bytes may have come (from the start of the previous wake-up's processing); for one stamped with the wake-up's
    /// time (`--receive-time wake`), the longer of how long data had waited before the wake-up and how long the
    /// wake-up had run when libcurl read it. Buckets of a quarter power of two in µs (`TimingBuckets`).
    package var stampUncertaintyBuckets: [UInt64] = Array(repeating: 0, count: TimingBuckets.count)
    package var stampUncertaintyMaxNanoseconds: UInt64 = 0
    package var stampSamples: UInt64 = 0
    /// Buffers stamped with the kernel's receive time, and with the wake-up's.
    package var kernelStampedBuffers: UInt64 = 0
    package var wakeStampedBuffers: UInt64 = 0
    /// How long data waited in the kernel (its receive time to epoll_wait's return), per kernel-stamped buffer: the
    /// error a client stamping at wake-up would have had, kept out of the figures by the kernel's time.
    package var readWaitBuckets: [UInt64] = Array(repeating: 0, count: TimingBuckets.count)
    package var readWaitSamples: UInt64 = 0
    /// Time the loop thread was runnable but waiting for a CPU (the kernel's run-queue delay): events that came
    /// meanwhile wait unread, which no stamp taken by the thread can see. Nil where the kernel does not say.
    package var runQueueWaitNanoseconds: UInt64?

    package init() {}

    mutating func recordStamps(uncertaintyNanoseconds ns: UInt64, count: UInt64) {
        guard count > 0 else { return }
        stampUncertaintyBuckets[TimingBuckets.index(nanoseconds: ns)] += count
        stampSamples += count
        stampUncertaintyMaxNanoseconds = max(stampUncertaintyMaxNanoseconds, ns)
    }

    mutating func recordReadWait(nanoseconds ns: UInt64) {
        readWaitBuckets[TimingBuckets.index(nanoseconds: ns)] += 1
        readWaitSamples += 1
    }

    /// Upper bound (µs) of the bucket holding the given quantile (0...1) of the buffers' stamp uncertainty; 0 without
    /// samples.
    package func timestampUncertaintyMicros(quantile: Double) -> Double {
        Self.bucket(holding: quantile, of: stampUncertaintyBuckets, samples: stampSamples)
            .map(TimingBuckets.upperBoundMicros) ?? 0
    }

    /// Upper bound (µs) of the bucket holding the given quantile of the kernel-to-wake-up waits; nil without samples.
    package func readWaitMicros(quantile: Double) -> Double? {
        Self.bucket(holding: quantile, of: readWaitBuckets, samples: readWaitSamples).map(TimingBuckets.upperBoundMicros)
    }

    /// Share of buffers stamped with the kernel's receive time; nil without buffers.
    package var kernelStampedShare: Double? {
        let all = kernelStampedBuffers + wakeStampedBuffers
        return all > 0 ? Double(kernelStampedBuffers) / Double(all) : nil
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

    /// Adds another loop's stamp and read-wait counts (for one figure over all loops, or one sweep to the total).
    package mutating func mergeStamps(_ other: MultiLoopStatistics) {
        for i in stampUncertaintyBuckets.indices { stampUncertaintyBuckets[i] += other.stampUncertaintyBuckets[i] }
        stampSamples += other.stampSamples
        stampUncertaintyMaxNanoseconds = max(stampUncertaintyMaxNanoseconds, other.stampUncertaintyMaxNanoseconds)
        kernelStampedBuffers += other.kernelStampedBuffers
        wakeStampedBuffers += other.wakeStampedBuffers
        for i in readWaitBuckets.indices { readWaitBuckets[i] += other.readWaitBuckets[i] }
        readWaitSamples += other.readWaitSamples
    }

    mutating func recordLoopLag(nanoseconds: UInt64) {
        let micros = nanoseconds / 1000
        let bucket = micros == 0 ? 0 : min(31, 64 - micros.leadingZeroBitCount)
        loopLagBuckets[bucket] += 1
        loopLagSamples += 1
        loopLagMaxNanoseconds = max(loopLagMaxNanoseconds, nanoseconds)
    }

    /// Upper bound (µs) of the bucket holding the given quantile (0...1) of loop lags.
    package func loopLagUpperBoundMicros(quantile: Double) -> UInt64 {
        guard let i = Self.bucket(holding: quantile, of: loopLagBuckets, samples: loopLagSamples) else { return 0 }
        return i == 0 ? 1 : UInt64(1) << UInt64(i)
    }
}

/// Log-linear buckets for short durations: below 1 µs in bucket 0, then four per power of two of µs (1, 1.19, 1.41,
/// 1.68, 2 …), so a p99 is read to within 19% instead of the 2x of a power-of-two bucket.
package enum TimingBuckets {
    package static let count = 4 * 32

    static func index(nanoseconds: UInt64) -> Int {
        let micros = Double(nanoseconds) / 1000
        guard micros >= 1 else { return 0 }
        return min(count - 1, 1 + Int((log2(micros) * 4).rounded(.down)))
    }

    /// The upper edge (µs) of bucket `index`.
    package static func upperBoundMicros(_ index: Int) -> Double {
        index == 0 ? 1 : pow(2, Double(index) / 4)
    }
}
