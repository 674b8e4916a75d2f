import Curl
import Foundation
import Harness
import Metrics
import MockServer
import Report
import ServerMetrics
import TestSupport
import Testing
import Workload

/// One GPU as a scripted exporter reports it.
private struct FakeGPU {
    var util: Double, watts: Double, energyMJ: Double, usedMiB: Double, pcie: Double
    init(_ util: Double, _ watts: Double, _ energyMJ: Double, _ usedMiB: Double, _ pcie: Double) {
        (self.util, self.watts, self.energyMJ, self.usedMiB, self.pcie) = (util, watts, energyMJ, usedMiB, pcie)
    }
}

/// DCGM exporter text as dcgm-exporter 3.x writes it (labels and HELP lines as in its default counters).
private func dcgm(gpus: [FakeGPU]) -> String {
    var out = "# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).\n# TYPE DCGM_FI_DEV_SM_CLOCK gauge\n"
    func line(_ name: String, _ i: Int, _ value: Double) -> String {
        "\(name){gpu=\"\(i)\",UUID=\"GPU-5f3c\(i)\",pci_bus_id=\"00000000:0\(i):00.0\",device=\"nvidia\(i)\","
            + "modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-1\",DCGM_FI_DRIVER_VERSION=\"550.54.15\"} \(value)\n"
    }
    for i in gpus.indices { out += line("DCGM_FI_DEV_SM_CLOCK", i, 1980) }
    let fields: [(name: String, value: (FakeGPU) -> Double)] = [
        ("DCGM_FI_DEV_GPU_UTIL", { $0.util }), ("DCGM_FI_DEV_POWER_USAGE", { $0.watts }),
        ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", { $0.energyMJ }), ("DCGM_FI_DEV_FB_USED", { $0.usedMiB }),
        ("DCGM_FI_DEV_FB_FREE", { 81559 - $0.usedMiB }), ("DCGM_FI_PROF_PCIE_TX_BYTES", { $0.pcie }),
    ]
    for field in fields {
        out += "# HELP \(field.name) x\n# TYPE \(field.name) gauge\n"
        for (i, gpu) in gpus.enumerated() { out += line(field.name, i, field.value(gpu)) }
    }
    return out
}

private func closedLoop(requests: Int) -> WorkloadSpec {
    var spec = WorkloadSpec()
    spec.name = "gpu-telemetry"
    spec.load.concurrency = 4
    spec.load.requests = requests
    spec.prompt.tokens = .fixed(32)
    spec.prompt.calibrate = false
    spec.output.maxTokens = .fixed(40)
    spec.output.ignoreEOS = true
    return spec
}

@Suite(.serialized)
struct GPUTelemetryTests {
    @Test func dcgmTextIsReadPerGPU() {
        let text = dcgm(gpus: [FakeGPU(40, 300.5, 1_000_000, 70_000, 2e9), FakeGPU(60, 499.5, 2_000_000, 71_000, 3e9)])
        let gpus = DCGMReading.read(PrometheusExposition(parsing: text))
        #expect(gpus.map(\.id) == ["0", "1"])
        #expect(gpus[0].model == "NVIDIA H100 80GB HBM3")
        #expect(gpus[0].sample.utilizationPct == 40)
        #expect(gpus[1].sample.powerW == 499.5)
        #expect(gpus[0].sample.energyJ == 1000, "mJ → J")
        #expect(gpus[1].sample.memoryUsedMiB == 71_000)
        #expect(gpus[1].sample.memoryTotalMiB == 81_559, "used + free")
        #expect(gpus[0].sample.pcieTxBytesPerS == 2e9)
        #expect(gpus[0].sample.nvlinkTxBytesPerS == nil)
    }

    /// Exporters configured with profiling counters only: GR_ENGINE_ACTIVE (a ratio) stands in for GPU_UTIL.
    @Test func engineActiveStandsInForUtilization() {
        let text = """
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="0",UUID="GPU-a"} 0.425
            DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu="1",UUID="GPU-b"} 0.9
            DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b"} 88
            vllm:num_requests_running{model_name="m"} 3
            """
        let gpus = DCGMReading.read(PrometheusExposition(parsing: text))
        #expect(gpus.map(\.sample.utilizationPct) == [42.5, 88], "GPU_UTIL wins where both are exported")
        #expect(DCGMReading.read(PrometheusExposition(parsing: "vllm:num_requests_running 3\n")).isEmpty)
    }

    /// Energy: from the counter's growth where it is exported, else the power gauge's mean; samples outside the
    /// window do not count.
    @Test func usageSummarisesTheWindow() throws {
        let counted = GPUSeries(id: "0", samples: (0...10).map { s in
            GPUSample(second: Double(s) - 1, utilizationPct: s == 0 ? 0 : 50, powerW: 999,
                      memoryUsedMiB: 1024 * Double(s), memoryTotalMiB: 81_920, energyJ: 100 + 250 * Double(s))
        })
        let gauged = GPUSeries(id: "1", samples: (0...10).map { s in
            GPUSample(second: Double(s) - 1, utilizationPct: s == 0 ? 0 : 30, powerW: s == 0 ? 1000 : 150)
        })
        let usage = try #require(GPUUsage.summarize([counted, gauged], from: 0, to: 8.5))
        #expect(usage.gpus == 2)
        #expect(usage.utilizationPct == 40, "(50 + 30) / 2; the sample before the window is out, the one after in")
        #expect(usage.minimumUtilizationPct == 30)
        #expect(abs((usage.powerW ?? 0) - 400) < 1e-9, "250 W from the counter + 150 W from the gauge")
        #expect(abs((usage.energyJ ?? 0) - 400 * 8.5) < 1e-9)
        #expect(usage.memoryUsedGiB == 10)
        #expect(usage.memoryTotalGiB == 80)
        #expect(abs((usage.energyWhPer1kRequests(requestsPerSecond: 2) ?? 0) - 400 / 2 * 1000 / 3600) < 1e-9)
        #expect(abs((usage.energyKWhPer1MOutputTokens(outputTokensPerSecond: 1000) ?? 0) - 400 / 1000 * 1e6 / 3.6e6) < 1e-9)
        #expect(GPUUsage.samples(of: gauged, from: 0, to: 8.5).map(\.second) == (0...9).map(Double.init))
        #expect(GPUUsage.summarize([gauged], from: 20, to: 30) == nil)
    }

    /// A scripted DCGM exporter beside a mock: every scrape lands in the result, the window's figures are the
    /// exporter's (40 % and 60 % busy, 300 W and 500 W by the energy counter), energy per 1000 requests follows
    /// from them and the measured rate, and the report has its section.
    @Test func aScrapedExporterGivesUtilizationPowerAndEnergyPerRequest() async throws {
        let started = Date()
        let exporter = try await ScriptedServer.start(.text({ _ in
            let elapsed = Date().timeIntervalSince(started)
            return dcgm(gpus: [FakeGPU(40, 290, 5e6 + 300_000 * elapsed, 70_000, 1e9),
                         FakeGPU(60, 510, 9e6 + 500_000 * elapsed, 72_000, 0)])
        }))
        var configuration = MockConfiguration()
        configuration.fixedLatency = .init(timeToFirstTokenMs: 50, interTokenLatencyMs: 10)
        let mock = try await MockServer.start(configuration)
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-gpu-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = RunSession.Options(commandLine: ["test"])
        options.gpuTelemetry = GPUTelemetrySettings(urls: [exporter.baseURL + "/metrics"])
        let outcome: RunSession.Outcome
        do {
            outcome = try await RunSession.run(workload: closedLoop(requests: 24),
                                               deployment: DeploymentSpec(name: "m", urls: mock.baseURLs),
                                               directory: directory, options: options)
        } catch {
            try await mock.shutdown()
            try await exporter.shutdown()
            throw error
        }
        try await mock.shutdown()
        try await exporter.shutdown()

        let telemetry = try #require(outcome.result.gpuTelemetry?.first)
        #expect(telemetry.source == "dcgm")
        #expect(telemetry.notes.isEmpty, "\(telemetry.notes)")
        #expect(telemetry.gpus.map(\.id) == ["0", "1"])
        // 24 requests × 0.44 s / 4 in flight ≈ 2.6 s: a baseline, about two scrapes and the final one.
        #expect(telemetry.gpus[0].samples.count >= 3, "\(telemetry.gpus[0].samples.count) scrapes")
        let usage = try #require(telemetry.usage)
        #expect(usage.utilizationPct == 50)
        #expect(usage.minimumUtilizationPct == 40)
        let power = try #require(usage.powerW)
        #expect(abs(power - 800) / 800 < 0.03, "power from the energy counters: \(power) W, the gauges say 800 too")
        #expect(abs((usage.memoryUsedGiB ?? 0) - 72_000 / 1024) < 1e-9)
        #expect(abs((usage.pcieTxGBps ?? 0) - 1) < 1e-9)
        let rps = try #require(outcome.result.summaries.first?.requestsPerSecond)
        let perK = try #require(usage.energyWhPer1kRequests(requestsPerSecond: rps))
        #expect(abs(perK - power / rps * 1000 / 3600) < 1e-9)

        let saved = try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: directory.appendingPathComponent("result.json")))
        #expect(saved.gpuTelemetry == outcome.result.gpuTelemetry)
        let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("## GPUs"))
        #expect(report.contains("| 0   | NVIDIA H100 80GB HBM3") || report.contains("| 0 | NVIDIA H100 80GB HBM3"))
        #expect(report.contains("energy / 1000 requests"))

        // The comparison carries the same figures as cells, with ratios like any metric.
        let runs = DeploymentRuns(description: outcome.result.targets[0], summaries: outcome.result.summaries,
                                  histograms: [:], gpuUsage: [usage])
        let comparison = Comparison.build(workloadName: "w", runs: [runs])
        #expect(comparison.deployments[0].cells["gpu_util_pct"]?.value == 50)
        #expect(comparison.deployments[0].cells["energy_per_1k_requests_wh"]?.value == perK)
    }

    /// A URL that is not an exporter is said once, and scraping it stops.
    @Test func aWrongURLIsNotedOnce() async throws {
        let scraper = GPUMetricsScraper(target: "t", gpuEndpoints: ["http://127.0.0.1:1/metrics"], intervalSeconds: 0.1)
        await scraper.start()
        try await Task.sleep(for: .milliseconds(300))
        let result = await scraper.finish(epochNs: 0)
        #expect(result.gpus.isEmpty)
        #expect(result.notes.count == 1)
        #expect(result.notes.first?.contains("no usable GPU metrics at http://127.0.0.1:1/metrics") == true)
    }
}
