import Foundation
import Harness
import LatencyModel
import LoadGen
import Metrics
import MockServer
import Report
import ServerMetrics
import Testing
import Workload

private func temporaryDirectory(_ name: String) -> URL {
    URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-\(name)-\(UUID().uuidString)")
}

private func fixedMock(ttftMs: Double, itlMs: Double) async throws -> MockServer {
    var configuration = MockConfiguration()
    configuration.fixedLatency = .init(timeToFirstTokenMs: ttftMs, interTokenLatencyMs: itlMs)
    return try await MockServer.start(configuration)
}

@Suite(.serialized)
struct HarnessTests {
    @Test func promptsAreCalibratedToTheServersTokenCount() async throws {
        let mock = try await fixedMock(ttftMs: 5, itlMs: 1)
        var spec = WorkloadSpec()
        spec.prompt.tokens = .fixed(1000)
        spec.prompt.system = "You are a careful assistant."
        spec.output.maxTokens = .fixed(4)
        spec.load.concurrency = 20
        spec.load.requests = 200
        let output = try await Benchmark.run(workload: spec, target: Target(name: "m", baseURLs: mock.baseURLs),
                                             settings: RequestSettings())
        try await mock.shutdown()
        #expect(output.summary.failed == 0)
        let counts = output.records.compactMap(\.promptTokens)
        #expect(counts.count == 200)
        let exact = counts.filter { abs($0 - 1000) <= 1 }.count
        #expect(Double(exact) / Double(counts.count) >= 0.99, "within ±1: \(exact) of \(counts.count); \(counts.prefix(10))")
        // The mock speaks vLLM's dialect and counts one word as one token: every word passes the vocabulary check
        // in one request, and every prompt is exact.
        #expect(output.calibration.mode == .calibrated)
        #expect(output.calibration.dialect == "vllm")
        #expect(output.calibration.singleTokenWords == PromptSynthesizer.vocabulary.count)
        #expect(output.calibration.vocabularyCalls == 2)
        #expect(output.calibration.exact == output.calibration.prompts)
        #expect(output.calibrationNote.contains("vllm dialect"))
    }

    @Test func savedResultsCompareToTheSameNumbers() async throws {
        let fast = try await fixedMock(ttftMs: 50, itlMs: 5)
        let slow = try await fixedMock(ttftMs: 150, itlMs: 15)
        var spec = WorkloadSpec()
        spec.name = "compare-test"
        spec.prompt.tokens = .fixed(64)
        spec.output.maxTokens = .fixed(20)
        spec.output.ignoreEOS = true
        spec.load.concurrency = 8
        spec.load.requests = 40
        let deployments = [
            DeploymentSpec(name: "fast", urls: fast.baseURLs, tensorParallel: 1, gpus: 1, costPerGPUHour: 2),
            DeploymentSpec(name: "slow", urls: slow.baseURLs, tensorParallel: 4, gpus: 4, costPerGPUHour: 2),
        ]
        let directory = temporaryDirectory("compare")
        let live = try await CompareSession.run(workload: spec, deployments: deployments, directory: directory,
                                                options: RunSession.Options(commandLine: ["test"]))
        try await fast.shutdown()
        try await slow.shutdown()

        let ttft = try #require(live.comparison.deployments[1].cells["ttft_p50_ms"])
        #expect(abs((ttft.value ?? 0) - 150) < 10)
        #expect((ttft.ratio ?? 0) > 2.5 && ttft.phrase?.hasSuffix("x worse") == true, "\(ttft)")
        let slowRow = live.comparison.deployments[1]
        #expect(slowRow.projection?.replicas == 1)
        #expect(live.comparison.deployments[0].projection?.replicas == 4)
        #expect(slowRow.costPer1kRequests != nil)
        #expect(!live.comparison.verdict.isEmpty)
        for file in [ComparisonReport.markdownFile, ComparisonReport.csvFile, ComparisonReport.jsonFile,
                     "fast/report.md", "slow/result.json", "charts/compare-ttft-cdf.svg"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), "\(file)")
        }

        let saved = try ["fast", "slow"].map {
            try SavedRun.load(path: directory.appendingPathComponent("\($0)/result.json")).result
        }
        let again = try CompareSession.compareSaved(saved, baseline: nil, directory: temporaryDirectory("again"))
        #expect(again.comparison.deployments.map(\.cells) == live.comparison.deployments.map(\.cells))
        #expect(again.comparison.verdict == live.comparison.verdict)
    }

    @Test func demoShowsThePublishedShape() async throws {
        var spec = try SeedWorkload.load(path: nil)
        spec.prompt.tokens = .fixed(300)
        spec.output.maxTokens = .fixed(60)
        spec.output.ignoreEOS = true
        spec.load.concurrency = 20
        let directory = temporaryDirectory("demo")
        let outcome = try await Demo.run(workload: spec, full: false, directory: directory,
                                         options: RunSession.Options(commandLine: ["test"]), announce: { _ in })
        let byName = Dictionary(uniqueKeysWithValues: outcome.comparison.deployments.map { ($0.name, $0) })
        let tp1 = try #require(byName["tp1"])
        let pcie = try #require(byName["tp4-pcie-degraded"])
        let nvlink = try #require(byName["tp4-nvlink"])
        func value(_ d: Comparison.Deployment, _ key: String) -> Double { d.cells[key]?.value ?? .nan }
        #expect(value(pcie, "ttft_p50_ms") > value(tp1, "ttft_p50_ms"))
        #expect(value(pcie, "itl_event_p50_ms") > value(tp1, "itl_event_p50_ms"))
        #expect(value(pcie, "requests_per_s") < value(tp1, "requests_per_s"))
        #expect(value(nvlink, "itl_event_p50_ms") < value(tp1, "itl_event_p50_ms"))
        #expect(tp1.projection?.replicas == 4 && pcie.projection?.replicas == 1)
        #expect(tp1.costPer1kRequests != nil)
        #expect(value(tp1, "failure_pct") == 0)
        // 60 tokens cannot hold the extraction record: every answer is cut at max_tokens, and says so.
        #expect(value(tp1, "schema_valid_pct") == 0)
    }

    @Test func seedWorkloadAnswersAreSchemaValid() async throws {
        let mock = try await fixedMock(ttftMs: 5, itlMs: 0.5)
        var spec = try SeedWorkload.load(path: nil)
        spec.prompt.tokens = .fixed(200)
        spec.load.concurrency = 10
        spec.load.requests = 20
        let output = try await Benchmark.run(workload: spec, target: Target(name: "m", baseURLs: mock.baseURLs),
                                             settings: RequestSettings())
        try await mock.shutdown()
        let schema = try #require(output.summary.schema)
        #expect(schema.checked == 20)
        #expect(schema.valid == 20, "\(schema.samples)")
        let tokens = output.records.map(\.outputTokens)
        #expect(tokens.allSatisfy { (250...500).contains($0) }, "natural size of the record: \(tokens)")
    }
}

/// The CLI's way of running: records go only to requests.jsonl and the summary is gathered as they finish.
@Suite(.serialized)
struct StreamingRunTests {
    @Test func aRunWithoutRecordsInMemoryReportsWhatItsLogSays() async throws {
        var configuration = MockConfiguration()
        configuration.fixedLatency = .init(timeToFirstTokenMs: 20, interTokenLatencyMs: 2)
        configuration.faults.errorRate = 0.1
        configuration.seed = 3
        let mock = try await MockServer.start(configuration)
        var spec = WorkloadSpec()
        spec.name = "streaming"
        spec.prompt.tokens = .fixed(32)
        spec.prompt.calibrate = false
        spec.output.maxTokens = .fixed(12)
        spec.output.ignoreEOS = true
        spec.load.concurrency = 12
        spec.load.requests = 150
        spec.load.warmupRequests = 10
        spec.slo.ttftMs = 100
        let directory = temporaryDirectory("streaming")
        var options = RunSession.Options(commandLine: ["test"], serverMetrics: ServerMetricsSettings(enabled: false))
        options.keepRecords = false
        let outcome = try await RunSession.run(
            workload: spec, deployment: DeploymentSpec(name: "mock", urls: mock.baseURLs), directory: directory,
            options: options)
        try await mock.shutdown()
        #expect(outcome.records.isEmpty)
        let summary = try #require(outcome.result.summaries.first)
        #expect(summary.requests == 140, "warm-up requests stay out of the results")
        #expect(summary.failures["http-5xx", default: 0] > 0 && summary.succeeded > 100)
        #expect(summary.requestedPromptTokensMean == 32 && summary.requestedMaxTokensMean == 12)
        #expect(outcome.result.notes.contains { $0.contains("10 warm-up/cool-down requests") })

        // `tpbench report` rebuilds everything from requests.jsonl: it must find the same numbers.
        let saved = try SavedRun.load(path: directory)
        #expect(saved.records.count == 150)
        #expect(saved.result.summaries == outcome.result.summaries)
        #expect(saved.result.histograms == outcome.result.histograms)
        #expect(saved.result.timeSeries == outcome.result.timeSeries)

        // requests.csv comes from the log, every request (warm-up included) once, in id order.
        let csv = try String(contentsOf: directory.appendingPathComponent("requests.csv"), encoding: .utf8)
        let ids = csv.split(separator: "\r\n").dropFirst().compactMap { Int($0.prefix { $0 != "," }) }
        #expect(ids == Array(0..<150))
        let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("32 tokens") && report.contains("12 tokens"))
    }
}
