import Metrics
import Testing
@testable import Report

private func summary(_ name: String, ttft: Double, rps: Double) -> TargetSummary {
    let records = (0..<10).map { i in
        RequestRecord(id: i, target: name, replica: "r", startMs: Double(i) * 100, e2eMs: 1000,
                      tokenEventOffsetsMs: [ttft, 1000], outputTokens: 2)
    }
    var s = Aggregator.summarize(target: name, records: records)
    s.requestsPerSecond = rps
    s.outputTokensPerSecond = rps * 100
    return s
}

private func runs(_ name: String, gpus: Int, ttfts: [Double], rps: [Double]) -> DeploymentRuns {
    DeploymentRuns(description: TargetDescription(name: name, baseURLs: ["http://127.0.0.1:1"], tensorParallel: gpus,
                                                  gpus: gpus, costPerGPUHour: 3.6),
                   summaries: zip(ttfts, rps).map { summary(name, ttft: $0, rps: $1) }, histograms: [:])
}

@Test func ratiosPhrasesCostAndProjection() {
    let c = Comparison.build(workloadName: "w", runs: [
        runs("tp1", gpus: 1, ttfts: [450], rps: [12.4]),
        runs("tp4", gpus: 4, ttfts: [1250], rps: [8.1]),
    ])
    let tp4 = c.deployments[1]
    #expect(tp4.cells["ttft_p50_ms"]?.phrase == "2.8x worse")
    #expect(tp4.cells["requests_per_s"]?.phrase == "35% lower")
    // $3.60/GPU-hour: tp1 costs $3.60/h for 12.4 req/s → $0.0806 per 1000 requests.
    #expect(abs((c.deployments[0].costPer1kRequests ?? 0) - 3.6 / (12.4 * 3600) * 1000) < 1e-9)
    #expect(c.gpuBudget == 4)
    #expect(c.deployments[0].projection?.replicas == 4)
    #expect(abs((c.deployments[0].projection?.requestsPerSecond ?? 0) - 49.6) < 1e-9)
    #expect(c.verdict.contains { $0.contains("4 x tp1 projects to 49.60 req/s") && $0.contains("6.1x the throughput") })
}

@Test func repeatsGiveConfidenceIntervalsAndSignificance() {
    let c = Comparison.build(workloadName: "w", runs: [
        runs("a", gpus: 1, ttfts: [100, 102, 98], rps: [10, 10.2, 9.8]),
        runs("b", gpus: 1, ttfts: [200, 205, 195], rps: [10.1, 9.9, 10.0]),
    ])
    let b = c.deployments[1]
    let ttft = b.cells["ttft_p50_ms"]
    #expect(ttft?.value == 200)
    // t(0.975, 2) = 4.303; s = 5; half-width = 4.303 × 5 / √3.
    #expect(abs((ttft?.ci95 ?? 0) - 4.303 * 5 / 3.0.squareRoot()) < 1e-6)
    #expect(ttft?.significant == true)
    #expect(b.cells["requests_per_s"]?.significant == false, "a 0.3% difference within noise is not significant")
}
