import Histogram

/// An HdrHistogram of latencies in microseconds (1 µs to 1 hour, 3 significant digits), serialised as its
/// recorded (value, count) pairs so results from many runs or machines merge exactly and stay small.
package struct LatencyHistogram: Sendable, Equatable, Codable {
    package static let highestTrackableMicros: UInt64 = 3_600_000_000
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highestTrackableMicros,
                                              numberOfSignificantValueDigits: .three)

    package init() {}

    package init<S: Sequence>(milliseconds values: S) where S.Element == Double {
        for value in values { record(milliseconds: value) }
    }

    package mutating func record(milliseconds: Double) {
        guard milliseconds.isFinite else { return }
        let micros = UInt64(max(1, min(Double(Self.highestTrackableMicros), (milliseconds * 1000).rounded())))
        _ = histogram.record(micros)
    }

    /// Adds another histogram's counts (exact: both use the same bucket layout).
    package mutating func merge(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    package var count: UInt64 { histogram.totalCount }

    /// Value at percentile `q` (0–100) in milliseconds, to the histogram's precision.
    package func percentileMs(_ q: Double) -> Double {
        count == 0 ? .nan : Double(histogram.valueAtPercentile(q)) / 1000
    }

    package var maxMs: Double { count == 0 ? .nan : Double(histogram.max) / 1000 }
    package var meanMs: Double { count == 0 ? .nan : histogram.mean / 1000 }

    /// Recorded (value in µs, count) pairs.
    package var pairs: [[UInt64]] {
        histogram.recordedValues().map { [$0.value, UInt64($0.count)] }
    }

    package static func == (lhs: LatencyHistogram, rhs: LatencyHistogram) -> Bool { lhs.pairs == rhs.pairs }

    private enum CodingKeys: String, CodingKey { case unit, significantDigits = "significant_digits", pairs }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let pairs = try container.decode([[UInt64]].self, forKey: .pairs)
        for pair in pairs where pair.count == 2 {
            _ = histogram.record(min(pair[0], Self.highestTrackableMicros), count: pair[1])
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("us", forKey: .unit)
        try container.encode(3, forKey: .significantDigits)
        try container.encode(pairs, forKey: .pairs)
    }
}
