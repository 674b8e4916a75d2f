/// Summary statistics of a set of values; percentiles are exact, by linear interpolation between the two
/// nearest ranks (the same method as numpy's default, which vLLM's benchmark uses).
package struct Distribution: Sendable, Codable, Equatable {
    package var count: Int
    package var mean: Double
    package var stddev: Double
    package var min: Double
    package var p50: Double
    package var p90: Double
    package var p95: Double
    package var p99: Double
    package var p999: Double
    package var max: Double
    /// True when the percentiles come from an HdrHistogram (3 significant digits) because the metric had more
    /// values than are kept exactly; nil when exact.
    package var fromHistogram: Bool?

    /// The percentile columns in report order, with their names.
    package static let percentileNames = ["p50", "p90", "p95", "p99", "p99.9", "max", "mean", "stddev"]

    package var percentileValues: [Double] { [p50, p90, p95, p99, p999, max, mean, stddev] }

    package init?(_ values: [Double]) {
        let sorted = values.filter { $0.isFinite }.sorted()
        guard !sorted.isEmpty else { return nil }
        self.init(sorted: sorted)
    }

    package init(sorted: [Double]) {
        count = sorted.count
        let total = sorted.reduce(0, +)
        mean = total / Double(sorted.count)
        let m = mean
        let variance = sorted.count > 1
            ? sorted.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(sorted.count - 1) : 0
        stddev = variance.squareRoot()
        min = sorted[0]
        max = sorted[sorted.count - 1]
        p50 = Distribution.percentile(sorted, 50)
        p90 = Distribution.percentile(sorted, 90)
        p95 = Distribution.percentile(sorted, 95)
        p99 = Distribution.percentile(sorted, 99)
        p999 = Distribution.percentile(sorted, 99.9)
    }

    /// Percentile `q` (0–100) of ascending `sorted` values, linearly interpolated.
    package static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard sorted.count > 1 else { return sorted.first ?? .nan }
        let rank = q / 100 * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let fraction = rank - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }
}
