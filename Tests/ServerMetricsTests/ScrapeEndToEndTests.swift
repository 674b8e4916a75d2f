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

private func closedLoop(concurrency: Int, requests: Int, maxTokens: Int) -> WorkloadSpec {
    var spec = WorkloadSpec()
    spec.name = "server-metrics-e2e"
    spec.load.concurrency = concurrency
    spec.load.requests = requests
    spec.prompt.tokens = .fixed(32)
    spec.prompt.calibrate = false
    spec.output.maxTokens = .fixed(maxTokens)
    spec.output.ignoreEOS = true
    return spec
}

@Suite(.serialized)
struct ScrapeEndToEndTests {
    /// A closed loop of 8 against the fixed-latency mock: the server's histograms count exactly the requests the
    /// client sent, its TTFT is the configured one, and the report carries the section and its charts.
    @Test func serverSeriesMatchesTheClient() async throws {
        var configuration = MockConfiguration()
        configuration.fixedLatency = .init(timeToFirstTokenMs: 60, interTokenLatencyMs: 10)
        let mock = try await MockServer.start(configuration)
        let directory = temporaryDirectory("scrape")
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome: RunSession.Outcome
        do {
            outcome = try await RunSession.run(
                workload: closedLoop(concurrency: 8, requests: 64, maxTokens: 60),
                deployment: DeploymentSpec(name: "mock", urls: mock.baseURLs), directory: directory,
                options: RunSession.Options(commandLine: ["test"]))
        } catch {
            try await mock.shutdown()
            throw error
        }
        try await mock.shutdown()

        #expect(outcome.result.summaries.first?.failed == 0)
        let server = try #require(outcome.result.serverMetrics?.first)
        #expect(server.family == "vllm")
        #expect(server.target == "mock")
        #expect(server.notes.isEmpty, "\(server.notes)")
        // 64 requests × ~0.65 s / 8 in flight ≈ 5 s: one scrape a second, plus the baseline and the final one.
        #expect(server.samples.count >= 4, "\(server.samples.count) scrapes")
        #expect(server.samples.first.map { $0.second <= 0 } == true)
        #expect((1...8).contains(server.peakRunning ?? 0), "peak running \(server.peakRunning ?? -1)")
        #expect(server.samples.allSatisfy { ($0.running ?? 0) <= 8 })
        #expect(server.preemptionsDuringRun == 0)
        let window = try #require(server.window)
        #expect(window.timeToFirstToken?.count == 64)
        #expect(window.endToEnd?.count == 64)
        // Server TTFT ≤ client TTFT (the client's includes the HTTP round trip), and both near the fixed 60 ms.
        let serverTTFT = try #require(window.timeToFirstToken?.meanMs)
        let clientTTFT = try #require(outcome.result.summaries.first?.ttftMs?.mean)
        #expect(serverTTFT >= 55 && serverTTFT <= 200, "server TTFT \(serverTTFT) ms")
        #expect(clientTTFT + 1 >= serverTTFT, "client \(clientTTFT) ms vs server \(serverTTFT) ms")
        // Scrapes are on the client's timeline: every one during the load lies inside the run's wall time.
        let during = server.samples.filter { $0.second > 0 }
        #expect(during.allSatisfy { $0.second <= outcome.result.wallSeconds + 2 })

        let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("## Server side"))
        #expect(report.contains("peak running requests (server)"))
        #expect(report.contains("TTFT decomposition"))
        for chart in ["server-requests.svg", "server-kv-cache.svg", "server-preemptions.svg"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("charts/\(chart)").path))
        }
        // result.json round-trips with the new field, and an old result without it still decodes.
        let saved = try SavedRun.load(path: directory)
        #expect(saved.result.serverMetrics == outcome.result.serverMetrics)
    }

    /// The simulated engine: peak running requests equals the client's concurrency (a closed loop keeps that many
    /// in flight), running never exceeds it, and KV usage rises while they run.
    @Test func simulatedEngineShowsKVUsage() async throws {
        var configuration = MockConfiguration()
        configuration.timeScale = 0.5
        let mock = try await MockServer.start(configuration)
        let directory = temporaryDirectory("scrape-model")
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome: RunSession.Outcome
        do {
            outcome = try await RunSession.run(
                workload: closedLoop(concurrency: 8, requests: 48, maxTokens: 200),
                deployment: DeploymentSpec(name: "sim", urls: mock.baseURLs), directory: directory,
                options: RunSession.Options(commandLine: ["test"]))
        } catch {
            try await mock.shutdown()
            throw error
        }
        try await mock.shutdown()
        let server = try #require(outcome.result.serverMetrics?.first)
        #expect(outcome.result.summaries.first?.failed == 0)
        #expect(server.samples.count >= 3, "\(server.samples.count) scrapes")
        #expect(server.peakRunning == 8)
        #expect(server.samples.allSatisfy { ($0.running ?? 0) <= 8 })
        #expect((server.peakKVCacheUsage ?? 0) > 0)
        #expect(server.window?.queue?.count == 48)
        #expect(server.window?.timeToFirstToken?.count == 48)
        let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        let peakLine = report.split(separator: "\n").first { $0.contains("peak running requests (server)") }
        #expect(peakLine?.contains("| 8 (client") == true, "\(peakLine ?? "")")
    }

    @Test func noServerMetricsFlagSkipsScraping() async throws {
        var configuration = MockConfiguration()
        configuration.fixedLatency = .init(timeToFirstTokenMs: 5, interTokenLatencyMs: 1)
        let mock = try await MockServer.start(configuration)
        let directory = temporaryDirectory("noscrape")
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try await RunSession.run(
            workload: closedLoop(concurrency: 2, requests: 4, maxTokens: 5),
            deployment: DeploymentSpec(name: "m", urls: mock.baseURLs), directory: directory,
            options: RunSession.Options(commandLine: ["test"], serverMetrics: ServerMetricsSettings(enabled: false)))
        try await mock.shutdown()
        #expect(outcome.result.serverMetrics == nil)
        let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(!report.contains("## Server side"))
    }

    /// Nothing listens on the port: the scrape is noted, never fatal.
    @Test func aServerWithoutMetricsIsNoted() async {
        let scraper = MetricsScraper(target: "t", endpoints: ["http://127.0.0.1:1/metrics"], intervalSeconds: 0.1)
        await scraper.start()
        try? await Task.sleep(for: .milliseconds(300))
        let result = await scraper.finish(epochNs: 0)
        #expect(result.family == nil)
        #expect(result.samples.isEmpty)
        #expect(result.notes.count == 1)
        #expect(result.notes.first?.contains("no usable server metrics at http://127.0.0.1:1/metrics") == true)
    }

    @Test func finishWithoutStartReturnsAnEmptyResult() async {
        let scraper = MetricsScraper(target: "t", endpoints: ["http://127.0.0.1:1/metrics"])
        let result = await scraper.finish(epochNs: 0)
        #expect(result.samples.isEmpty)
    }

    @Test func resultsWithoutServerMetricsStillDecode() throws {
        let json = """
            {"schema":"tpbench.result/1","runID":"r","startedAt":"2025-01-01T00:00:00Z","wallSeconds":1,
             "workloadName":"w","workload":{},"targets":[],"environment":{"host":"h","cores":1,"os":"o",
             "tpbenchVersion":"0","commandLine":[]},"summaries":[],"histograms":{},"timeSeries":{},"notes":[]}
            """
        let result = try JSONDecoder().decode(RunResult.self, from: Data(json.utf8))
        #expect(result.serverMetrics == nil)
    }
}
