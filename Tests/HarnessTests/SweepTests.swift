import Foundation
import Harness
import LatencyModel
import Metrics
import MockServer
import Report
import Testing
import Workload

@Suite(.serialized)
struct SweepTests {
    @Test func kneeSitsAtTheMocksSequenceLimit() async throws {
        var engine = ReplicaSpec(model: .qwen3_30b_a3b, gpu: .h200)
        engine.maxNumSeqs = 8
        let mock = try await MockServer.start(MockConfiguration(replicaSpec: engine))
        var spec = WorkloadSpec()
        spec.name = "sweep-test"
        spec.prompt.tokens = .fixed(64)
        spec.output.maxTokens = .fixed(60)
        spec.output.ignoreEOS = true
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-sweep-\(UUID())")
        let sweep = try await SweepSession.run(
            workload: spec, deployments: [DeploymentSpec(name: "tp1", urls: mock.baseURLs)],
            settings: .init(dimension: .concurrency, levels: [2, 4, 8, 16], requestsPerLevel: 40, ttftP95SLOMs: 300),
            directory: directory, options: RunSession.Options(commandLine: ["test"]))
        try await mock.shutdown()
        let curve = try #require(sweep.curves.first)
        #expect(curve.points.map(\.level) == [2, 4, 8, 16])
        // Up to max_num_seqs every request runs at once; beyond it requests queue for a whole generation.
        #expect(curve.knee?.level == 8, "points: \(curve.points.map { ($0.level, $0.ttftP95Ms ?? -1) })")
        #expect((curve.points.last?.ttftP95Ms ?? 0) > 300)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("sweep.md").path))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("tp1/concurrency-8/report.md").path))
    }

    @Test func crossoversAndTheirAbsence() {
        func point(_ level: Double, _ tokps: Double) -> Sweep.Point {
            var summary = Aggregator.summarize(target: "x", records: [])
            summary.outputTokensPerSecond = tokps
            return Sweep.Point(level: level, summary: summary)
        }
        let a = [point(1, 100), point(4, 300), point(16, 500), point(64, 520)]
        let b = [point(1, 150), point(4, 320), point(16, 400), point(64, 410)]
        let sweep = Sweep.build(workloadName: "w", dimension: .concurrency, ttftP95SLOMs: nil,
                                curves: [("a", a, nil), ("b", b, nil)])
        #expect(sweep.crossovers.map { "\($0.leader)>\($0.overtaken)@\($0.level)" } == ["a>b@16.0"])
        let none = Sweep.build(workloadName: "w", dimension: .concurrency, ttftP95SLOMs: nil,
                               curves: [("a", a, nil), ("c", a.map { point($0.level, $0.outputTokensPerSecond * 2) }, nil)])
        #expect(none.crossovers.isEmpty)
        #expect(none.findings.contains { $0.contains("no crossover in the range swept (c ahead at every level)") })
    }
}
