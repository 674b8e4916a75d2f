import Foundation
import Metrics

extension ReportCharts {
    /// The server-side charts of a run (none when nothing was scraped): requests running/waiting beside the
    /// client's requests in flight, KV-cache usage, and preemptions, all on the run's timeline.
    package static func serverSideCharts(for result: RunResult) -> [Chart] {
        let servers = (result.serverMetrics ?? []).filter { $0.family != nil && !$0.samples.isEmpty }
        guard !servers.isEmpty else { return [] }
        let several = servers.count > 1
        func label(_ server: ServerSideMetrics, _ what: String) -> String {
            several ? "\(server.target) \(what)" : what
        }
        // Scrapes before the load (the baseline) would stretch the axis for nothing.
        func points(_ server: ServerSideMetrics, _ value: (ServerMetricsSample) -> Double?) -> [ChartPoint] {
            server.samples.filter { $0.second >= 0 }.compactMap { s in value(s).map { ChartPoint(x: s.second, y: $0) } }
        }
        var requestLines: [ChartSeries] = []
        var kvLines: [ChartSeries] = []
        var preemptionLines: [ChartSeries] = []
        for server in servers {
            let client = (result.timeSeries[server.target] ?? []).map {
                ChartPoint(x: Double($0.second) + 0.5, y: $0.inFlight)
            }
            requestLines.append(ChartSeries(name: label(server, "client in flight (1 s mean)"), points: client))
            requestLines.append(ChartSeries(name: label(server, "server running"),
                                            points: points(server) { $0.running }))
            requestLines.append(ChartSeries(name: label(server, "server waiting"),
                                            points: points(server) { $0.waiting }))
            kvLines.append(ChartSeries(name: label(server, "KV-cache usage"),
                                       points: points(server) { $0.kvCacheUsage }))
            let baseline = server.samples.last { $0.second <= 0 && $0.preemptions != nil }?.preemptions
                ?? server.samples.first { $0.preemptions != nil }?.preemptions ?? 0
            preemptionLines.append(ChartSeries(name: label(server, "preemptions"), points: points(server) {
                $0.preemptions.map { max(0, $0 - baseline) }
            }))
        }
        var charts = [
            Chart(fileName: "server-requests.svg", chart: SVGChart(
                title: "Requests: server running and waiting vs client in flight",
                xLabel: "time since start of run (s)", yLabel: "requests", series: requestLines)),
        ]
        if kvLines.contains(where: { !$0.points.isEmpty }) {
            charts.append(Chart(fileName: "server-kv-cache.svg", chart: SVGChart(
                title: "KV-cache usage (server)", xLabel: "time since start of run (s)", yLabel: "KV-cache usage",
                series: kvLines, yRange: 0...1, yTickFormat: .percent)))
        }
        if preemptionLines.contains(where: { !$0.points.isEmpty }) {
            charts.append(Chart(fileName: "server-preemptions.svg", chart: SVGChart(
                title: "Preemptions since start of run (server)", xLabel: "time since start of run (s)",
                yLabel: "preemptions (cumulative)", series: preemptionLines)))
        }
        return charts
    }
}
