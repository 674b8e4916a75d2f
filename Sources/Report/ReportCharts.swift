import Foundation
import Metrics

/// The report's charts, built only from a `RunResult`'s histograms and time series, so the same functions draw
/// a comparison of several runs or deployments (`latencyCDF` over many histograms, `throughputVsLatency`).
package enum ReportCharts {
    /// One chart file of a report.
    package struct Chart: Sendable {
        /// File name under `charts/`, e.g. `ttft-cdf.svg`.
        package var fileName: String
        package var chart: SVGChart
    }

    /// A named histogram (a target, a deployment, a run).
    package struct NamedHistogram: Sendable {
        package var name: String
        package var histogram: LatencyHistogram

        package init(name: String, histogram: LatencyHistogram) {
            self.name = name
            self.histogram = histogram
        }
    }

    /// The charts of one run's report, in the order the report shows them.
    package static func charts(for result: RunResult) -> [Chart] {
        let names = result.summaries.map(\.target)
        func histograms(_ metric: String) -> [NamedHistogram] {
            names.compactMap { name in
                result.histograms[name]?[metric].map { NamedHistogram(name: name, histogram: $0) }
            }
        }
        let series = names.map { ($0, result.timeSeries[$0] ?? []) }
        return [
            Chart(fileName: "ttft-cdf.svg", chart: latencyCDF(
                title: "TTFT CDF (successful requests)", xLabel: "time to first token (ms)",
                histograms: histograms("ttft"))),
            Chart(fileName: "itl-event-distribution.svg", chart: distribution(
                title: "ITL per event distribution", xLabel: "gap between consecutive token-carrying events (ms)",
                histograms: histograms("itl_event"))),
            Chart(fileName: "ttft-over-time.svg", chart: overTime(
                title: "TTFT p50 per second", yLabel: "TTFT p50 (ms)", series: series) { $0.ttftP50Ms }),
            Chart(fileName: "output-tokens-per-second.svg", chart: overTime(
                title: "Output tokens per second", yLabel: "output tokens/s", series: series) {
                    $0.outputTokensPerSecond
                }),
            Chart(fileName: "requests-in-flight.svg", chart: overTime(
                title: "Requests in flight (mean per second)", yLabel: "requests in flight", series: series) {
                    $0.inFlight
                }),
        ] + serverSideCharts(for: result)
    }

    /// Cumulative share of values at or below each latency, one step line per histogram.
    package static func latencyCDF(title: String, xLabel: String, histograms: [NamedHistogram]) -> SVGChart {
        let series = histograms.map { named -> ChartSeries in
            let pairs = named.histogram.pairs
            let total = Double(pairs.reduce(0) { $0 + $1[1] })
            var points: [ChartPoint] = []
            var cumulative = 0.0
            if let first = pairs.first { points.append(ChartPoint(x: Double(first[0]) / 1000, y: 0)) }
            for pair in pairs {
                cumulative += Double(pair[1])
                points.append(ChartPoint(x: Double(pair[0]) / 1000, y: total > 0 ? cumulative / total : 0))
            }
            return ChartSeries(name: named.name, points: thin(points), style: .step)
        }
        return SVGChart(title: title, xLabel: xLabel, yLabel: "share of requests at or below", series: series,
                        yRange: 0...1, yTickFormat: .percent)
    }

    /// Share of values per bin, one step outline per histogram. Bins span 0 to the largest p99.9, so one outlier
    /// cannot squash the shape; larger values are counted in the last bin and the subtitle says so.
    package static func distribution(title: String, xLabel: String, histograms: [NamedHistogram],
                                    bins: Int = 50) -> SVGChart {
        let upper = histograms.map { $0.histogram.percentileMs(99.9) }.filter(\.isFinite).max() ?? 0
        let width = upper > 0 ? upper / Double(bins) : 1
        let series = histograms.map { named -> ChartSeries in
            var counts = Array(repeating: 0.0, count: bins)
            var total = 0.0
            for pair in named.histogram.pairs {
                let index = min(bins - 1, max(0, Int(Double(pair[0]) / 1000 / width)))
                counts[index] += Double(pair[1])
                total += Double(pair[1])
            }
            guard total > 0 else { return ChartSeries(name: named.name, points: [], style: .step) }
            var points = [ChartPoint(x: 0, y: 0)]
            for (index, count) in counts.enumerated() {
                points.append(ChartPoint(x: Double(index) * width, y: count / total))
            }
            points.append(ChartPoint(x: Double(bins) * width, y: counts[bins - 1] / total))
            points.append(ChartPoint(x: Double(bins) * width, y: 0))
            return ChartSeries(name: named.name, points: points, style: .step)
        }
        return SVGChart(title: title, xLabel: xLabel, yLabel: "share of gaps per bin", series: series,
                        yTickFormat: .percent,
                        subtitle: upper > 0
                            ? "\(bins) bins up to p99.9; larger values are counted in the last bin" : nil)
    }

    /// A per-second quantity over the run, one line per named series; seconds count from the earliest bucket.
    package static func overTime(title: String, yLabel: String, series: [(name: String, points: [TimeSeriesPoint])],
                                value: (TimeSeriesPoint) -> Double?) -> SVGChart {
        let origin = series.flatMap { $0.points.map(\.second) }.min() ?? 0
        let lines = series.map { named in
            ChartSeries(name: named.name, points: named.points.compactMap { point in
                value(point).map { ChartPoint(x: Double(point.second - origin), y: $0) }
            })
        }
        return SVGChart(title: title, xLabel: "time since start of run (s)", yLabel: yLabel, series: lines)
    }

    /// One labelled marker per deployment or load level: throughput on x, a latency on y.
    package static func throughputVsLatency(title: String, xLabel: String, yLabel: String,
                                           points: [(name: String, throughput: Double, latencyMs: Double)])
        -> SVGChart {
        let series = points.map {
            ChartSeries(name: $0.name, points: [ChartPoint(x: $0.throughput, y: $0.latencyMs)], style: .scatter,
                        pointLabels: [$0.name])
        }
        return SVGChart(title: title, xLabel: xLabel, yLabel: yLabel, series: series)
    }

    /// Keeps at most `limit` points (always the last), so a CDF of a long run stays a small file.
    static func thin(_ points: [ChartPoint], limit: Int = 600) -> [ChartPoint] {
        guard points.count > limit else { return points }
        let stride = Double(points.count - 1) / Double(limit - 1)
        return (0..<limit).map { points[min(points.count - 1, Int((Double($0) * stride).rounded()))] }
    }
}
