import Foundation
import Harness
import LatencyModel
import LoadGen
import Metrics
import MockServer
import Report
import Testing
import Workload

/// `tpbench calibrate`: recovering a live mock's hidden parameters from runs measured through the client, the preset
/// file it writes, and predictions made with that preset for a load it never saw.
@Suite(.serialized)
struct CalibrateTests {
    static let hidden: [FreeParameter: Double] = [
        .mfu: 0.42, .mbu: 0.68, .stepOverhead: 2.4, .tpSyncOverhead: 0.6, .allReduceLatency: 45, .busBandwidth: 15,
    ]

    static func hiddenEngine(tp: Int) -> ReplicaSpec {
        var p = ReplicaSpec(model: .llama3_1_8b, gpu: .h100, tensorParallel: tp, link: .pcie4P2P)
        for (parameter, value) in hidden { parameter.set(value, in: &p) }
        p.requestOverhead = 0  // none hidden: the fit finds the mock's and the client's own
        return p
    }

    static func workload(concurrency: Int?, rate: Double? = nil, requests: Int, prompt: Int, output: Int) -> WorkloadSpec {
        var spec = WorkloadSpec()
        spec.name = "calibrate-test"
        spec.load.concurrency = concurrency
        spec.load.rate = rate
        if rate != nil { spec.load.arrival = .constant }
        spec.load.requests = requests
        spec.prompt.tokens = .fixed(prompt)
        spec.output.maxTokens = .fixed(output)
        spec.output.ignoreEOS = true
        return spec
    }

    /// Runs `spec` through the client against a mock with the hidden parameters; the run directory is left for
    /// calibrate to read, with the deployment metadata a user would give (`--gpu`, `--tp`, `--interconnect`).
    static func measure(_ spec: WorkloadSpec, tp: Int, in root: URL, name: String) async throws -> URL {
        let directory = root.appendingPathComponent(name, isDirectory: true)
        try await measure([(spec, directory)], engine: hiddenEngine(tp: tp), tp: tp)
        return directory
    }

    /// Runs each workload in turn through the client against one live mock of `engine` (seeded like the first),
    /// into its directory. Mock and client run at real-time priority (as in ReasoningTests), so that no other thread
    /// on the 2 cores moves a request past a step boundary and the run into another schedule than the replay's.
    static func measure(_ runs: [(spec: WorkloadSpec, directory: URL)], engine: ReplicaSpec, tp: Int = 1) async throws {
        var configuration = MockConfiguration(replicaSpec: engine)
        configuration.seed = runs.first?.spec.seed ?? configuration.seed
        let mock = try await MockServer.start(configuration)
        _ = await mock.enableRealtimeScheduling()
        var settings = RequestSettings()
        settings.realtime = true
        do {
            for (spec, directory) in runs {
                let deployment = DeploymentSpec(name: directory.lastPathComponent, urls: mock.baseURLs, tensorParallel: tp,
                                                gpu: "h100", interconnect: tp > 1 ? "pcie4-p2p" : nil)
                let outcome = try await RunSession.run(workload: spec, deployment: deployment, directory: directory,
                                                       options: RunSession.Options(settings: settings, commandLine: ["test"]))
                #expect(outcome.result.summaries.first?.failed == 0)
            }
        } catch {
            try await mock.shutdown()
            throw error
        }
        try await mock.shutdown()
    }

    /// The runs that separate what the step-time formula confounds (the same design as the exact-data test in
    /// LatencyModelTests): a long prompt alone (MFU), small and large KV reads per decode step (MBU versus the
    /// per-step cost), TP 2 and TP 4 (sync versus all-reduce latency; prefill all-reduces give the bus bandwidth).
    @Test func calibrateRecoversTheMocksHiddenParametersAndPredictsANewLoad() async throws {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-calibrate-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        var directories: [String] = []
        for (name, tp, concurrency, count, output) in [("tp1-alone", 1, 1, 4, 48), ("tp1-c32", 1, 32, 64, 48),
                                                       ("tp2-c4", 2, 4, 12, 128), ("tp4-c4", 4, 4, 12, 128)] {
            let spec = Self.workload(concurrency: concurrency, requests: count, prompt: 3000, output: output)
            directories.append(try await Self.measure(spec, tp: tp, in: root, name: name).path)
        }
        let outcome = try CalibrateSession.calibrate(paths: directories, deployment: .init(),
                                                     free: FreeParameter.standard)
        print(CalibrateSession.render(outcome))
        #expect(outcome.runs.map(\.parameters.tensorParallel) == [1, 1, 2, 4])
        #expect(outcome.runs.allSatisfy { $0.parameters.model.name == "llama-3.1-8b" && $0.parameters.gpu.name == "h100" })
        #expect(outcome.runs[1].load == .closed(concurrency: 32))
        var recovered = true
        for (parameter, truth) in Self.hidden {
            let value = try #require(outcome.fit.value(of: parameter))
            #expect(abs(value / truth - 1) < 0.05, "\(parameter.name): fitted \(value), hidden \(truth)")
            if abs(value / truth - 1) >= 0.05 { recovered = false }
        }
        if !recovered {
            // In one fresh-clone CI run (2026-12-07) the tp4-c4 run measured TTFT p50 630 ms where every other
            // run measured 563 and no parameters fit it: each request's send and TTFT, to see which schedule it was.
            for path in directories {
                let records = try SavedRun.load(path: URL(fileURLWithPath: path)).records.sorted { $0.startMs < $1.startMs }
                print("\(URL(fileURLWithPath: path).lastPathComponent): " + records.map {
                    String(format: "%.1f+%.1f", $0.startMs, $0.ttftMs ?? -1) }.joined(separator: " "))
            }
        }
        // No request overhead was hidden, so what the fit finds is the mock's and the client's real per-request time
        // (HTTP, and reading a 3000-token prompt, which costs the mock 0.25-0.4 µs a token): 1.5-1.8 ms in serial
        // runs on this machine kind, up to 2.3 ms with other tests running beside it.
        let requestOverhead = try #require(outcome.fit.value(of: .requestOverhead))
        #expect(requestOverhead > 0 && requestOverhead < 3, "request overhead \(requestOverhead) ms")
        #expect(outcome.leaveOneOut.count == 4 * CalibrationFigures.names.count)

        // The preset round-trips through its file, and a plan with it predicts a load none of the runs had (TP 2,
        // 96-token answers, an open loop of 4 req/s) within 5 % of the live mock. The prompts keep the calibration's
        // length: the mock's own request cost grows with the prompt and the model's request overhead is one constant,
        // so 1000-token prompts came out 3-6 % high on TTFT p50 (the README says so).
        let presetURL = root.appendingPathComponent("preset.yaml")
        try Data(outcome.preset.yaml().utf8).write(to: presetURL)
        let preset = try PresetFileLoader.load(path: presetURL.path)
        #expect(preset.model == "llama-3.1-8b" && preset.gpu == "h100" && preset.link == "pcie4-p2p")
        for (p, v) in outcome.preset.values {
            #expect(abs((preset.values[p] ?? .nan) - v) <= 1e-5 * abs(v), "\(p.name): \(preset.values[p] ?? .nan) vs \(v)")
        }
        #expect(Set(preset.bands.keys) == ["ttft", "tpot", "e2e", "throughput"])

        let heldOut = Self.workload(concurrency: nil, rate: 4, requests: 24, prompt: 3000, output: 96)
        let liveDirectory = try await Self.measure(heldOut, tp: 2, in: root, name: "held-out")
        let live = try SavedRun.load(path: liveDirectory)
        var setup = PlanSession.Setup(model: .llama3_1_8b, gpu: .h100, link: .pcie4P2P,
                                      candidates: [.init(tensorParallel: 2, replicas: 1)], costPerGPUHour: nil)
        setup.tune = { preset.apply(to: &$0) }
        setup.calibration = .init(source: presetURL.path, bands: preset.bands)
        let planDirectory = root.appendingPathComponent("plan")
        let plan = try PlanSession.run(workload: heldOut, setup: setup, directory: planDirectory)
        let measured = try #require(live.result.summaries.first)
        let predicted = try #require(plan.runs.first?.summaries.first)
        for (name, m, p) in [("TTFT p50", measured.ttftMs?.p50, predicted.ttftMs?.p50),
                             ("TPOT p50", measured.tpotMs?.p50, predicted.tpotMs?.p50),
                             ("E2E p50", measured.e2eMs?.p50, predicted.e2eMs?.p50),
                             ("req/s", measured.requestsPerSecond, predicted.requestsPerSecond)] {
            let m = try #require(m), p = try #require(p)
            print("calibrated plan vs live mock (held out): \(name) predicted \(p), measured \(m)")
            #expect(abs(p - m) / m < 0.05, "\(name): predicted \(p), measured \(m)")
        }
        // The report carries the bands.
        let report = try String(contentsOf: planDirectory.appendingPathComponent("compare.md"), encoding: .utf8)
        #expect(report.contains("calibrated preset"))
        #expect(report.contains(String(format: "±%.1f %%", (preset.bands["tpot"] ?? 0) * 100)))
        let csv = try String(contentsOf: planDirectory.appendingPathComponent("compare.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("deployment,metric,unit,value,ci95,ratio_to_baseline,phrase,significant,prediction_band"))
    }

    /// `mock --preset` with a request overhead: the mock holds each request that long before its scheduler sees it.
    @Test func theMockHonoursAPresetsRequestOverhead() async throws {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-overhead-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        var ttft: [Double] = []
        for overhead in [0.0, 0.02] {
            var configuration = MockConfiguration(replicaSpec: ReplicaSpec(model: .llama3_1_8b, gpu: .h100))
            configuration.replicaSpec.requestOverhead = overhead
            let mock = try await MockServer.start(configuration)
            let spec = Self.workload(concurrency: 1, requests: 5, prompt: 200, output: 4)
            let outcome: RunSession.Outcome
            do {
                outcome = try await RunSession.run(
                    workload: spec, deployment: DeploymentSpec(name: "mock", urls: mock.baseURLs),
                    directory: root.appendingPathComponent("\(overhead)"), options: RunSession.Options(commandLine: ["test"]))
            } catch {
                try await mock.shutdown()
                throw error
            }
            try await mock.shutdown()
            ttft.append(try #require(outcome.result.summaries.first?.ttftMs?.p50))
        }
        #expect(abs(ttft[1] - ttft[0] - 20) < 2, "TTFT p50 \(ttft[0]) ms without, \(ttft[1]) ms with 20 ms overhead")
    }

    /// The mock's API server takes one request at a time: a burst's first tokens come out spaced by its cost, and
    /// `calibrate --fit request_overhead_ms,api_server_ms` reads that cost back from the run.
    @Test func theMocksAPIServerTakesOneRequestAtATimeAndCalibrateFindsItsCost() async throws {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-api-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        var engine = ReplicaSpec(model: .llama3_1_8b, gpu: .h100)
        engine.requestOverhead = 0.03
        engine.apiServerCost = 0.02
        // First one request at a time, so the API server never has a queue (and the fresh mock's first-use costs,
        // up to 3 ms on its first emissions, fall here); then one wave of 8 sent at once: request k is taken 20·k ms
        // after the first, and its two steps (~15 ms) end before the next one reaches the engine. (At normal
        // priority, under two CPU hogs, a first token came out 7 ms late.)
        let serial = root.appendingPathComponent("serial")
        let directory = root.appendingPathComponent("burst")
        try await Self.measure([(Self.workload(concurrency: 1, requests: 4, prompt: 64, output: 2), serial),
                                (Self.workload(concurrency: 8, requests: 8, prompt: 64, output: 2), directory)],
                               engine: engine)
        let records = try SavedRun.load(path: directory).records
        let firstTokens = records.compactMap { r in r.ttftMs.map { r.startMs + $0 } }.sorted()
        #expect(firstTokens.count == 8)
        // The least-squares line through the first tokens rises 20 ms a request, and the typical one is on it. (Each
        // is within 2 ms of it when the machine is quiet; under two CPU hogs one in eight runs had one token 6 ms
        // late even at real-time priority, which moves the slope by at most 0.5 ms.)
        let ks = firstTokens.indices.map(Double.init)
        let meanK = ks.reduce(0, +) / 8, meanT = firstTokens.reduce(0, +) / 8
        let slope = zip(ks, firstTokens).reduce(0) { $0 + ($1.0 - meanK) * ($1.1 - meanT) }
            / ks.reduce(0) { $0 + ($1 - meanK) * ($1 - meanK) }
        let offsets = zip(ks, firstTokens).map { abs($0.1 - meanT - slope * ($0.0 - meanK)) }.sorted()
        let spacing = firstTokens.map { $0 - firstTokens[0] }
        #expect(abs(slope - 20) < 0.5, "first tokens at +\(spacing) ms: \(slope) ms a request")
        #expect(offsets[3] < 1, "first tokens at +\(spacing) ms: median distance from the line \(offsets[3]) ms")
        let outcome = try CalibrateSession.calibrate(paths: [directory.path], deployment: .init(),
                                                     free: [.requestOverhead, .apiServerCost], leaveOneOut: false)
        let cost = try #require(outcome.fit.value(of: .apiServerCost))
        #expect(abs(cost / 20 - 1) < 0.05, "API server cost: fitted \(cost) ms, hidden 20")
        // The request overhead fitted is the hidden 30 ms (within 5 %) plus the mock's and the client's own (0-2 ms;
        // 29.8-30.7 ms in runs here: the fit also takes up the model's ITL, 0.6 % shorter than the mock's).
        let overhead = try #require(outcome.fit.value(of: .requestOverhead))
        #expect(overhead > 28.5 && overhead < 33.5, "request overhead: fitted \(overhead) ms, hidden 30")
        print("API server: first tokens \(String(format: "%.3f", slope)) ms apart (median \(String(format: "%.3f", offsets[3])) ms "
              + "off the line); fitted cost \(cost) ms, request overhead \(overhead) ms")
        #expect(outcome.preset.fitted.contains(.apiServerCost) && outcome.preset.values[.apiServerCost] == cost)

        // Runs that never queued for it say nothing of the cost: the preset keeps its 0 instead of the fit's start,
        // which `plan` would take for a ceiling.
        let unqueued = try CalibrateSession.calibrate(paths: [serial.path], deployment: .init(),
                                                      free: [.requestOverhead, .apiServerCost], leaveOneOut: false)
        #expect(unqueued.fit.relativeStandardErrors[1] == nil, "\(unqueued.fit.relativeStandardErrors)")
        #expect(!unqueued.preset.fitted.contains(.apiServerCost) && unqueued.preset.values[.apiServerCost] == 0)
        #expect(CalibrateSession.render(unqueued).contains("| api_server_ms | 5 | undetermined: the preset keeps 0 |"),
                "\(CalibrateSession.render(unqueued))")
    }

    /// A request overhead that grows with the prompt (tokenising it): with runs at two prompt lengths,
    /// `--fit request_overhead_ms,prompt_token_overhead_us` splits it into its fixed and per-token parts and predicts a
    /// third length's TTFT, where one constant fitted to the same runs cannot.
    @Test func calibrateSplitsTheRequestOverheadIntoFixedAndPerPromptToken() async throws {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-prompt-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        var engine = ReplicaSpec(model: .llama3_1_8b, gpu: .h100)
        engine.requestOverhead = 0.005
        engine.promptTokenOverhead = 10e-6
        // (At normal priority, under two CPU hogs, the held-out prediction was 2-3 % off.)
        let prompts = [500, 3000, 1500]
        let directories = prompts.map { root.appendingPathComponent("prompt-\($0)") }
        try await Self.measure(zip(prompts, directories).map {
            (Self.workload(concurrency: 1, requests: 6, prompt: $0, output: 8), $1)
        }, engine: engine)
        let fitted = Array(directories.prefix(2).map(\.path))
        let split = try CalibrateSession.calibrate(paths: fitted, deployment: .init(),
                                                   free: [.requestOverhead, .promptTokenOverhead], leaveOneOut: false)
        let constant = try CalibrateSession.calibrate(paths: fitted, deployment: .init(), free: [.requestOverhead],
                                                      leaveOneOut: false)
        // The fit finds the hidden parts plus the mock's and the client's own: ~1 ms fixed, 0.25-0.4 µs a token.
        let perToken = try #require(split.fit.value(of: .promptTokenOverhead))
        let fixed = try #require(split.fit.value(of: .requestOverhead))
        #expect(perToken > 9.5 && perToken < 11, "per prompt token: fitted \(perToken) µs, hidden 10")
        #expect(fixed > 4.75 && fixed < 7, "fixed: fitted \(fixed) ms, hidden 5")
        // The held-out 1500-token run, replayed with each fit's preset.
        let heldOut = try SavedRun.load(path: directories[2])
        func predictedTTFT(_ outcome: CalibrateSession.Outcome) throws -> (predicted: Double, measured: Double) {
            let run = try CalibrateSession.replay(heldOut, name: "prompt-1500", deployment: .init(), base: outcome.preset).run
            return (run.simulate(with: run.parameters).values[0], run.measured.values[0])
        }
        let (splitTTFT, measured) = try predictedTTFT(split)
        let (constantTTFT, _) = try predictedTTFT(constant)
        print("prompt-token overhead: fitted \(perToken) µs a token + \(fixed) ms; held-out TTFT p50 \(measured) ms, "
              + "predicted \(splitTTFT) (split) and \(constantTTFT) (one constant)")
        #expect(abs(splitTTFT / measured - 1) < 0.02, "held-out TTFT p50: predicted \(splitTTFT), measured \(measured)")
        #expect(abs(constantTTFT / measured - 1) > 2 * abs(splitTTFT / measured - 1),
                "one constant: \(constantTTFT), split: \(splitTTFT), measured \(measured)")
    }

    @Test func aPresetFileRoundTripsAndBadOnesSayWhereAndWhy() throws {
        let preset = PresetFile(model: "llama-3.1-8b", gpu: "h100", link: "pcie4-p2p",
                                values: [.mfu: 0.42, .mbu: 0.68, .stepOverhead: 2.4, .busBandwidth: 15.123456789],
                                fitted: [.mfu, .mbu], maxNumSeqs: 64, bands: ["ttft": 0.02, "tpot": 0.011],
                                runs: ["Reports/a \"quoted\" run"], leaveOneOutMedianError: 0.013)
        let read = try PresetFileLoader.parse(preset.yaml())
        #expect(read.model == preset.model && read.gpu == preset.gpu && read.link == preset.link)
        #expect(read.values[.mfu] == 0.42 && read.values[.stepOverhead] == 2.4)
        #expect(abs((read.values[.busBandwidth] ?? 0) - 15.1235) < 1e-9)
        #expect(read.maxNumSeqs == 64 && read.bands == preset.bands && read.runs == preset.runs)
        #expect(read.leaveOneOutMedianError == 0.013)
        #expect(read.fitted == [.mfu, .mbu])
        var engine = ReplicaSpec(model: .llama3_1_8b, gpu: .h100, tensorParallel: 2, link: .pcie4P2P)
        read.apply(to: &engine)
        #expect(engine.mfu == 0.42 && engine.cpuOverhead == 2.4e-3 && engine.maxNumSeqs == 64)
        #expect(abs(engine.link.busBandwidth - 15.1235e9) < 1)
        // Link values apply only to the link they were fitted on.
        var other = ReplicaSpec(model: .llama3_1_8b, gpu: .h100, tensorParallel: 2, link: .nvlink4)
        read.apply(to: &other)
        #expect(other.link == .nvlink4 && other.mfu == 0.42)

        let bad = """
            kind: tpbench.preset/1
            model: llama-3.1-8b
            gpu: h900
            link: pcie4-p2p
            parameters:
              mfu: 1.7
              mbuu: 0.5
            """
        #expect {
            _ = try PresetFileLoader.parse(bad, file: "bad.yaml")
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("preset bad.yaml has 3 problems") && text.contains("gpu: 'h900' is not a known preset")
                && text.contains("parameters.mfu: must be in 0.01...1, got 1.7 (line 6)")
                && text.contains("did you mean 'mbu'?")
        }
        #expect(throws: WorkloadError.self) { _ = try PresetFileLoader.parse("kind: tpbench.workload/1\n") }
    }
}
