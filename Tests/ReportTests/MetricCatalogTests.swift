import Metrics
import Testing

@testable import Report

/// The metric table every comparison, threshold and CSV writer reads (`MetricCatalog`).
@Suite struct MetricCatalogTests {
    @Test func everyNameIsUniqueAndEveryComparedMetricIsInTheTable() {
        let keys = MetricCatalog.all.map(\.key)
        #expect(Set(keys).count == keys.count)
        // 5 latencies × 7 statistics, 7 summary figures, 5 GPU figures.
        #expect(keys.count == 47)
        #expect(MetricCatalog.all.filter(\.fromSummaryAlone).count == 42)
        for metric in Comparison.standardMetrics {
            #expect(MetricCatalog.named(metric.key)?.label == metric.label)
        }
    }

    @Test func valuesDeriveFromTheSummaryAsItsFieldsSay() throws {
        let result = Fixture.result(Fixture.records())
        let s = try #require(result.summaries.first)
        let ttft = try #require(s.ttftMs)
        #expect(MetricCatalog.named("ttft_p95_ms")?.value(in: s) == ttft.p95)
        #expect(MetricCatalog.named("ttft_p99_9_ms")?.value(in: s) == ttft.p999)
        #expect(MetricCatalog.named("e2e_mean_ms")?.value(in: s) == s.e2eMs?.mean)
        #expect(MetricCatalog.named("failure_pct")?.value(in: s) == s.errorRate * 100)
        #expect(MetricCatalog.named("failed")?.value(in: s) == Double(s.failed))
        #expect(MetricCatalog.named("requests_per_s")?.value(in: s) == s.requestsPerSecond)
        // GPU figures need telemetry: none here.
        #expect(MetricCatalog.named("gpu_power_w")?.value(in: s) == nil)
        #expect(MetricCatalog.named("no_such_metric") == nil)
        // summary.csv's rows are the catalog's distributions, in its order.
        #expect(CSVTables.metrics(of: s).map(\.metric).prefix(8) == [
            "ttft", "itl_event", "itl_token", "tpot", "e2e", "tokens_per_event", "output_tokens", "prompt_tokens",
        ])
    }
}
