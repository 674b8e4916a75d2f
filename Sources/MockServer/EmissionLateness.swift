/// How late the mock's own emissions were against their simulated schedule, for one scheduler.
package struct EmissionLateness: Sendable, CustomStringConvertible {
    package var replica: Int
    package var emissions: Int
    package var p50: Double
    package var p99: Double
    package var p999: Double
    package var max: Double

    package var description: String {
        func ms(_ s: Double) -> String {
            let v = (s * 1_000_000).rounded() / 1000
            return "\(v) ms"
        }
        return "replica \(replica): \(emissions) emissions, lateness p50 \(ms(p50)), p99 \(ms(p99)), "
            + "p99.9 \(ms(p999)), max \(ms(max))"
    }
}

/// A fixed-resolution histogram of lateness (10 µs buckets up to 200 ms), cheap enough to record every write.
/// Confined to its scheduler's event loop.
struct LatenessHistogram {
    private static let resolutionNanos: UInt64 = 10_000
    private var counts = [UInt32](repeating: 0, count: 20_001)
    private(set) var total = 0
    private(set) var maxNanos: UInt64 = 0

    mutating func record(nanos: UInt64) {
        let bucket = Swift.min(Int(nanos / Self.resolutionNanos), counts.count - 1)
        counts[bucket] &+= 1
        total += 1
        if nanos > maxNanos { maxNanos = nanos }
    }

    /// Upper edge of the bucket holding the p-th percentile, in seconds.
    func percentile(_ p: Double) -> Double {
        guard total > 0 else { return 0 }
        let rank = Swift.max(1, Int((p / 100 * Double(total)).rounded(.up)))
        var seen = 0
        for (bucket, count) in counts.enumerated() where count > 0 {
            seen += Int(count)
            if seen >= rank {
                let edge = UInt64(bucket + 1) * Self.resolutionNanos
                return Double(Swift.min(edge, maxNanos)) / 1e9
            }
        }
        return Double(maxNanos) / 1e9
    }

    func summary(replica: Int) -> EmissionLateness {
        EmissionLateness(
            replica: replica, emissions: total, p50: percentile(50), p99: percentile(99), p999: percentile(99.9),
            max: Double(maxNanos) / 1e9)
    }
}
