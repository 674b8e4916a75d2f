/// The values of one metric, gathered one at a time in bounded memory: every value is kept (for exact,
/// numpy-compatible percentiles) until `exactLimit`; past it the percentiles come from an HdrHistogram that has
/// seen every value (3 significant digits), while count, mean, standard deviation, minimum and maximum stay exact.
/// So a short run reports exactly what vLLM's benchmark would, and a day-long soak runs in flat memory.
package struct SampleSet: Sendable {
    /// Values kept exactly per metric before percentiles switch to the histogram (8 bytes each).
    package static let defaultExactLimit = 100_000

    package let exactLimit: Int
    private var values: [Double] = []
    /// Every value, in the units `LatencyHistogram` expects (milliseconds, stored as µs).
    package private(set) var histogram = LatencyHistogram()
    package private(set) var count = 0
    // Welford's running mean and sum of squared deviations: exact enough past the limit, and order-independent
    // up to rounding.
    private var runningMean = 0.0
    private var squaredDeviations = 0.0
    private var minimum = Double.infinity
    private var maximum = -Double.infinity

    package init(exactLimit: Int = SampleSet.defaultExactLimit) {
        self.exactLimit = max(1, exactLimit)
    }

    package var isEmpty: Bool { count == 0 }

    /// True once more values arrived than are kept, so percentiles come from the histogram.
    package var overflowed: Bool { count > exactLimit }

    package mutating func add(_ value: Double) {
        guard value.isFinite else { return }
        count += 1
        if count <= exactLimit {
            values.append(value)
        } else if !values.isEmpty {
            // Past the limit the kept values are no use: free them so memory stays flat.
            values = []
        }
        histogram.record(milliseconds: value)
        let delta = value - runningMean
        runningMean += delta / Double(count)
        squaredDeviations += delta * (value - runningMean)
        minimum = Swift.min(minimum, value)
        maximum = Swift.max(maximum, value)
    }

    package mutating func add<S: Sequence>(contentsOf values: S) where S.Element == Double {
        for value in values { add(value) }
    }

    /// The summary: exact while every value is kept, else histogram percentiles with exact moments and extremes.
    package var distribution: Distribution? {
        guard count > 0 else { return nil }
        if !overflowed { return Distribution(sorted: values.sorted()) }
        var d = Distribution(sorted: [minimum])
        d.count = count
        d.mean = runningMean
        d.stddev = count > 1 ? (squaredDeviations / Double(count - 1)).squareRoot() : 0
        d.min = minimum
        d.max = maximum
        // Histogram buckets hold values to 3 significant digits; clamp so a percentile never leaves [min, max].
        func clamped(_ q: Double) -> Double { Swift.min(maximum, Swift.max(minimum, histogram.percentileMs(q))) }
        d.p50 = clamped(50)
        d.p90 = clamped(90)
        d.p95 = clamped(95)
        d.p99 = clamped(99)
        d.p999 = clamped(99.9)
        d.fromHistogram = true
        return d
    }
}
