import Curl
import Foundation
import Harness
import JSON
import LoadGen
import Metrics
import ServerMetrics
import Testing
import Workload

/// The real servers `scripts/test-vllm` starts (vLLM's CPU build serving the tiny BPE LLaMA of
/// scripts/vllm/make_model.py). Without TPBENCH_VLLM_URL the suite is skipped; CI always sets it.
enum RealServer {
    static let environment = ProcessInfo.processInfo.environment
    /// vLLM with --max-num-seqs 16 and structured outputs without free whitespace.
    static var vllm: String? { environment["TPBENCH_VLLM_URL"] }
    /// The same model with --max-num-seqs 2 (for the comparison whose ranking is known).
    static var vllmNarrow: String? { environment["TPBENCH_VLLM_URL_NARROW"] }
    /// The same model served as a reasoning model (--reasoning-parser deepseek_r1 and a reasoning config).
    static var vllmReasoning: String? { environment["TPBENCH_VLLM_URL_REASONING"] }
    /// The venv's python (tokenizers, jinja2) and the model folder, for the llama.cpp-like server.
    static var python: String? { environment["TPBENCH_VLLM_PYTHON"] }
    static var model: String? { environment["TPBENCH_VLLM_MODEL"] }
    static var enabled: Bool { vllm != nil }

    static func directory(_ name: String) -> URL {
        URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-real-\(name)-\(UUID().uuidString)")
    }
}

/// A workload for the tiny model: short answers of exactly `maxTokens` tokens.
func tinyWorkload(api: WorkloadSpec.API = .chat, promptTokens: Int = 128, maxTokens: Int = 16, concurrency: Int = 4,
                  requests: Int = 16) -> WorkloadSpec {
    var spec = WorkloadSpec()
    spec.name = "real-vllm"
    spec.api = api
    spec.prompt.tokens = .fixed(promptTokens)
    spec.output.maxTokens = .fixed(maxTokens)
    spec.output.ignoreEOS = true
    spec.load.concurrency = concurrency
    spec.load.requests = requests
    spec.timeouts.totalS = 120
    return spec
}

/// Server-side prompt counts (usage.prompt_tokens) against the targets: how many are within ±1.
func withinOne(_ records: [RequestRecord]) -> (within: Int, counts: [Int]) {
    let pairs = records.compactMap { r in r.promptTokens.flatMap { p in r.requestedPromptTokens.map { (p, $0) } } }
    return (pairs.filter { abs($0.0 - $0.1) <= 1 }.count, pairs.map(\.0))
}

@Suite(.serialized, .enabled(if: RealServer.enabled, "set TPBENCH_VLLM_URL (scripts/test-vllm does)"))
struct RealVLLMTests {
    let url = RealServer.vllm ?? ""

    @Test(arguments: [WorkloadSpec.API.chat, .completions], [true, false])
    func streamedAndNotBothAPIsMeasureWhatTheServerSent(api: WorkloadSpec.API, stream: Bool) async throws {
        var spec = tinyWorkload(api: api, maxTokens: 12)
        if !stream { spec.extraBody = JSONObject([("stream", .bool(false))]) }
        let output = try await Benchmark.run(workload: spec, target: Target(name: "vllm", baseURLs: [url]),
                                             settings: RequestSettings())
        #expect(output.summary.failed == 0, "\(output.summary.failureSamples)")
        #expect(output.records.count == 16)
        for record in output.records {
            #expect(record.outputTokens == 12, "ignore_eos with max_tokens 12")
            #expect(!record.outputTokensEstimated, "vLLM sends usage")
            #expect(record.promptTokens == 128, "calibrated: the server counted \(record.promptTokens ?? -1)")
            #expect(record.streamed == stream)
            if stream {
                // vLLM sends one chunk per token, but a token whose bytes end inside a UTF-8 character (byte-level
                // BPE) arrives as an empty delta: no token event, its token is carried by the next one. And when its
                // API server falls behind the engine (2 cores shared with two more servers and the tests), V1 merges
                // the deltas waiting for a request into one chunk (RequestOutputCollector.put in
                // vllm/v1/engine/output_processor.py): one CI run saw 1-2 events for 4 of 16 requests. Per-chunk
                // usage accounts for every token all the same: every event carried at least one, 12 in all.
                let events = record.tokenEventOffsetsMs.count
                #expect(events >= 1 && events <= 12, "token events \(events)")
                #expect(record.tokensPerEvent?.count == events)
                #expect(record.tokensPerEvent?.allSatisfy { $0 >= 1 } == true, "\(record.tokensPerEvent ?? [])")
                #expect(record.tokensPerEvent?.reduce(0, +) == 12, "tokens per event \(record.tokensPerEvent ?? [])")
                #expect(record.finishReason == "length")
            }
        }
        if stream {
            let ttft = try #require(output.summary.ttftMs)
            let e2e = try #require(output.summary.e2eMs)
            #expect(ttft.p50 > 0 && ttft.p50 < e2e.p50)
            #expect(output.summary.itlTokenMs != nil, "per-token ITL from continuous_usage_stats")
            #expect(output.summary.tpotMs.map { $0.p50 > 0 } == true)
        } else {
            #expect(output.summary.nonStreamedResponses == 16)
        }
    }

    @Test(arguments: [128, 1000, 8000])
    func promptsAreExactOnARealBPETokenizer(tokens: Int) async throws {
        // Calibrate 200 prompts, then count every one of them again with the server's /tokenize, as the chat
        // endpoint will. A few are also sent, so usage.prompt_tokens confirms the count the load sees.
        var spec = tinyWorkload(promptTokens: tokens, maxTokens: 1, concurrency: 2, requests: 4)
        spec.prompt.system = "You are a careful assistant."
        let loop = try MultiLoop(index: 0)
        defer { loop.shutdown() }
        let pool = try await PromptBuilder.build(spec: spec, model: "tiny-llama", poolSize: 200, base: url,
                                                 loop: loop, settings: RequestSettings())
        let calibration = pool.calibration
        #expect(calibration.mode == .calibrated)
        #expect(calibration.dialect == "vllm")
        let perPrompt = Double(calibration.calls - (calibration.vocabularyCalls ?? 0)) / 200
        #expect(perPrompt <= 3, "counts per prompt: \(perPrompt)")
        // The tiny model's 2048-token BPE splits many of the prompt words: the filter must have dropped some.
        #expect((calibration.singleTokenWords ?? 0) < PromptSynthesizer.vocabulary.count)
        let (counter, _) = await TokenCounter.detect(base: url, model: "tiny-llama", api: .chat, loop: loop,
                                                     settings: RequestSettings())
        let verifier = try #require(counter)
        var within = 0
        var worst = 0
        for (index, prompt) in pool.prompts.enumerated() {
            let count = try await verifier.count(prompt)
            let miss = count - pool.requestedTokens[index]!
            if abs(miss) <= 1 { within += 1 }
            if abs(miss) > abs(worst) { worst = miss }
        }
        #expect(within >= 198, "within ±1: \(within) of 200 (worst \(worst))")
        #expect(calibration.missed == 200 - within, "the summary counts the misses the server sees")
        let output = try await Benchmark.run(workload: spec, target: Target(name: "vllm", baseURLs: [url]),
                                             settings: RequestSettings())
        let sent = withinOne(output.records)
        #expect(sent.within == 4, "usage.prompt_tokens: \(sent.counts)")
    }

    @Test func calibrationOffSaysSoAndMissesAreCountedAndRefusedUnderStrict() async throws {
        var spec = tinyWorkload(requests: 2)
        spec.prompt.calibrate = false
        let output = try await Benchmark.run(workload: spec, target: Target(name: "vllm", baseURLs: [url]),
                                             settings: RequestSettings())
        #expect(output.calibration.mode == .off)
        #expect(output.calibrationNote.contains("calibrate: false"))
        #expect(!output.calibrationNote.contains("no /tokenize"))
        // One word is not one token here: uncalibrated prompts miss, and the records show by how much.
        let sent = withinOne(output.records)
        #expect(sent.within < 2, "uncalibrated prompts of 128 words: \(sent.counts)")

        // Targets below the chat template's own length cannot be met: every prompt misses, the summary says by
        // how much, and --strict refuses to send the load.
        var tiny = tinyWorkload(promptTokens: 4, requests: 2)
        tiny.prompt.system = "You are a careful assistant who answers briefly."
        let missed = try await Benchmark.run(workload: tiny, target: Target(name: "vllm", baseURLs: [url]),
                                             settings: RequestSettings())
        #expect(missed.calibration.missed == missed.calibration.prompts)
        #expect(missed.calibration.worstMiss > 1)
        #expect(missed.calibrationNote.contains("missed by more than 1 token"), "\(missed.calibrationNote)")
        await #expect(throws: CalibrationMissed.self) {
            _ = try await Benchmark.run(workload: tiny, target: Target(name: "vllm", baseURLs: [url]),
                                        settings: RequestSettings(), strictCalibration: true,
                                        onRecord: { _ in Issue.record("--strict sent a request") })
        }
    }

    @Test func structuredOutputsAreValidatedAsReceived() async throws {
        // A schema with bounded values: under the server's disable_any_whitespace (scripts/test-vllm), xgrammar
        // ends the object, so every answer finishes with "stop" and must validate.
        let schema = try JSONValue.parse("""
            {"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer", "minimum": 0,
             "maximum": 9}, "tag": {"enum": ["a", "b", "c"]}}, "required": ["ok", "n", "tag"],
             "additionalProperties": false}
            """)
        var spec = tinyWorkload(maxTokens: 64, requests: 16)
        spec.output.ignoreEOS = nil
        spec.output.jsonSchema = schema
        var settings = RequestSettings()
        settings.keepOutputText = true
        let output = try await Benchmark.run(workload: spec, target: Target(name: "vllm", baseURLs: [url]),
                                             settings: settings)
        #expect(output.summary.failed == 0, "\(output.summary.failureSamples)")
        let verdicts = try #require(output.summary.schema)
        #expect(verdicts.checked == 16)
        #expect(verdicts.valid == 16, "\(verdicts.samples)")
        for record in output.records {
            #expect(record.finishReason == "stop")
            // What tpbench validated is what arrived: the text parses and has the three keys.
            let text = try #require(record.outputText)
            guard case .object(let object) = try JSONValue.parse(text) else { Issue.record("not an object: \(text)"); continue }
            #expect(object.entries.map(\.key).sorted() == ["n", "ok", "tag"])
        }
        // Cut at 3 tokens the grammar cannot finish: every answer is `truncated`, none counted valid.
        spec.output.maxTokens = .fixed(3)
        let cut = try await Benchmark.run(workload: spec, target: Target(name: "vllm", baseURLs: [url]),
                                          settings: settings)
        let cutVerdicts = try #require(cut.summary.schema)
        #expect(cutVerdicts.valid == 0)
        #expect(cutVerdicts.truncated == cut.summary.succeeded, "\(cutVerdicts)")
        #expect(cut.records.allSatisfy { $0.finishReason == "length" })
    }

    @Test func serverErrorsAreClassifiedWithTheServersMessage() async throws {
        // A prompt over --max-model-len (10240 in scripts/test-vllm).
        var spec = tinyWorkload(promptTokens: 10_300, maxTokens: 4, concurrency: 1, requests: 2)
        let long = try await Benchmark.run(workload: spec, target: Target(name: "vllm", baseURLs: [url]),
                                           settings: RequestSettings())
        #expect(long.calibration.missed == 0, "calibration counts beyond the context limit too")
        #expect(long.summary.failures["http-4xx"] == 2, "\(long.summary.failures)")
        for record in long.records {
            #expect(record.httpStatus == 400)
            #expect(record.failureMessage?.contains("maximum context length") == true, "\(record.failureMessage ?? "")")
        }
        // A model the server does not serve.
        spec = tinyWorkload(concurrency: 1, requests: 2)
        spec.model = "no-such-model"
        spec.prompt.calibrate = false
        let unknown = try await Benchmark.run(workload: spec, target: Target(name: "vllm", baseURLs: [url]),
                                              settings: RequestSettings())
        #expect(unknown.summary.failures["http-4xx"] == 2, "\(unknown.summary.failures)")
        #expect(unknown.records.allSatisfy { $0.httpStatus == 404 && $0.failureMessage?.contains("does not exist") == true },
                "\(unknown.records.map { $0.failureMessage ?? "" })")
    }

    @Test func aCancelMidStreamIsRecordedAndTheServerLetsGo() async throws {
        // Long answers (2000 tokens at a few ms each), cancelled two seconds in: every request is `cancelled`,
        // and vLLM aborts them (no request left running on its /metrics).
        let spec = tinyWorkload(maxTokens: 2000, concurrency: 4, requests: 4)
        let target = Target(name: "vllm", baseURLs: [url])
        let output = try await Benchmark.run(workload: spec, target: target, settings: RequestSettings(),
                                             onStart: { runner in
                                                 DispatchQueue.global().asyncAfter(deadline: .now() + 2.0) {
                                                     runner.stopIssuing()
                                                     runner.cancel()
                                                 }
                                             })
        #expect(output.records.count == 4)
        #expect(output.summary.failures["cancelled"] == 4, "\(output.summary.failures)")
        #expect(output.records.allSatisfy { $0.tokenEventOffsetsMs.count > 0 },
                "cancelled mid-stream, not before: \(output.records.map(\.tokenEventOffsetsMs.count)) token events")
        var running = -1.0
        for _ in 0..<50 {
            running = try await scrapeRunning()
            if running == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(running == 0, "vllm:num_requests_running after the cancel: \(running)")
    }

    @Test func serverMetricsFillTheServerSideSection() async throws {
        let spec = tinyWorkload(promptTokens: 256, maxTokens: 64, concurrency: 8, requests: 32)
        let directory = RealServer.directory("metrics")
        var options = RunSession.Options(commandLine: ["test"])
        options.serverMetrics = ServerMetricsSettings(intervalSeconds: 0.25)
        let outcome = try await RunSession.run(workload: spec, deployment: DeploymentSpec(name: "vllm", urls: [url]),
                                               directory: directory, options: options)
        let server = try #require(outcome.result.serverMetrics?.first)
        #expect(server.family == "vllm", "\(server.notes)")
        #expect((server.peakRunning ?? 0) >= 2, "peak running \(server.peakRunning ?? -1)")
        #expect(server.peakKVCacheUsage.map { $0 > 0 && $0 <= 1 } == true)
        let window = try #require(server.window)
        for (name, delta) in [("queue", window.queue), ("prefill", window.prefill), ("decode", window.decode),
                              ("ttft", window.timeToFirstToken)] {
            #expect((delta?.count ?? 0) >= 32, "\(name): \(String(describing: delta))")
        }
        let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("Server side"))
        try? FileManager.default.removeItem(at: directory)
    }

    @Test(.enabled(if: RealServer.vllmNarrow != nil))
    func compareRanksTwoServersThatDifferInOneSetting() async throws {
        // Same model, --max-num-seqs 16 vs 2, 16 requests in flight: the narrow one queues 14 of them, so its TTFT
        // is several times worse and its throughput lower. tpbench must rank them so.
        let spec = tinyWorkload(promptTokens: 128, maxTokens: 32, concurrency: 16, requests: 64)
        let deployments = [DeploymentSpec(name: "seqs16", urls: [url]),
                           DeploymentSpec(name: "seqs2", urls: [RealServer.vllmNarrow!])]
        let directory = RealServer.directory("compare")
        let outcome = try await CompareSession.run(workload: spec, deployments: deployments, baseline: "seqs16",
                                                   directory: directory,
                                                   options: RunSession.Options(commandLine: ["test"]))
        let wide = try #require(outcome.runs.first { $0.description.name == "seqs16" }?.summaries.first)
        let narrow = try #require(outcome.runs.first { $0.description.name == "seqs2" }?.summaries.first)
        #expect(wide.failed == 0 && narrow.failed == 0)
        let wideTTFT = try #require(wide.ttftMs?.p50)
        let narrowTTFT = try #require(narrow.ttftMs?.p50)
        #expect(narrowTTFT > 2 * wideTTFT, "TTFT p50 seqs2 \(narrowTTFT) ms vs seqs16 \(wideTTFT) ms")
        #expect(narrow.requestsPerSecond < wide.requestsPerSecond,
                "req/s seqs2 \(narrow.requestsPerSecond) vs seqs16 \(wide.requestsPerSecond)")
        let table = try String(contentsOf: directory.appendingPathComponent("compare.md"), encoding: .utf8)
        #expect(table.contains("seqs2") && table.contains("worse"))
        try? FileManager.default.removeItem(at: directory)
    }

    /// #18 on a real server: tpbench launches vLLM itself, twice with different settings (--max-num-seqs 8 and 1),
    /// waits until each is ready, measures it, stops it, and leaves nothing running. The settings really differ: with
    /// 8 requests in flight the one-sequence server queues 7 of them, so its TTFT is several times worse.
    @Test(.enabled(if: RealServer.python != nil && RealServer.model != nil))
    func aLaunchedVLLMIsStartedMeasuredAndStoppedTwice() async throws {
        let python = RealServer.python!, model = RealServer.model!
        func deployment(_ name: String, seqs: Int, port: Int) -> String {
            """
              - name: \(name)
                tensor_parallel: 1
                gpus: 1
                launch:
                  command: ["\(python)", -m, vllm.entrypoints.openai.api_server, --model, "\(model)",
                            --served-model-name, tiny-llama, --host, 127.0.0.1, --port, "{port}", --dtype, float32,
                            --max-model-len, "2048", --max-num-seqs, "\(seqs)"]
                  env: {VLLM_CPU_KVCACHE_SPACE: "1", VLLM_CPU_OMP_THREADS_BIND: nobind, OMP_NUM_THREADS: "1",
                        HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1", VLLM_NO_USAGE_STATS: "1", DO_NOT_TRACK: "1"}
                  port: \(port)
                  ready: {path: /health, timeout_s: 420}
                  stop: {signal: SIGTERM, grace_s: 20}

            """
        }
        let port = Int.random(in: 30_000...39_000)
        let deployments = try DeploymentLoader.parse("deployments:\n" + deployment("seqs8", seqs: 8, port: port)
                                                     + deployment("seqs1", seqs: 1, port: port + 1))
        let spec = tinyWorkload(promptTokens: 128, maxTokens: 32, concurrency: 8, requests: 32)
        let directory = RealServer.directory("launch")
        let outcome = try await CompareSession.run(workload: spec, deployments: deployments, baseline: "seqs8",
                                                   directory: directory, options: RunSession.Options(commandLine: ["test"]),
                                                   announce: { print("[launch] \($0)") })
        let launches = try #require(outcome.comparison.launches)
        #expect(launches.map(\.name) == ["seqs8", "seqs1"])
        for launch in launches {
            #expect(launch.failure == nil, "\(launch.name): \(launch.failure ?? "") \(launch.logTail.suffix(5))")
            let seconds = try #require(launch.startupSeconds)
            #expect(seconds > 1 && seconds < 420, "\(launch.name) start-up \(seconds) s")
            #expect(launch.serverVersion?.isEmpty == false, "vLLM serves /version")
            #expect(launch.commandLine.contains("--max-num-seqs"))
            let log = try String(contentsOf: directory.appendingPathComponent("\(launch.name)/server.log"), encoding: .utf8)
            #expect(log.contains("127.0.0.1") || log.contains("Uvicorn") || log.contains("Starting"), "log: \(log.suffix(300))")
        }
        let wide = try #require(outcome.runs.first { $0.description.name == "seqs8" }?.summaries.first)
        let narrow = try #require(outcome.runs.first { $0.description.name == "seqs1" }?.summaries.first)
        #expect(wide.failed == 0 && narrow.failed == 0)
        let wideTTFT = try #require(wide.ttftMs?.p50), narrowTTFT = try #require(narrow.ttftMs?.p50)
        #expect(narrowTTFT > 2 * wideTTFT, "TTFT p50 seqs1 \(narrowTTFT) ms vs seqs8 \(wideTTFT) ms")
        // Nothing tpbench launched is left: the marker is in every launched process's environment.
        let marker = Array("\(DeploymentLauncher.markerVariable)=\(getpid())/".utf8)
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter {
            guard let data = FileManager.default.contents(atPath: "/proc/\($0)/environ") else { return false }
            return [UInt8](data).split(separator: 0).contains { $0.starts(with: marker) }
        }
        #expect(left.isEmpty, "left running: \(left)")
        let table = try String(contentsOf: directory.appendingPathComponent("compare.md"), encoding: .utf8)
        #expect(table.contains("## Launched deployments"))
        print("[launch] start-up: " + launches.map { String(format: "%@ %.1f s", $0.name, $0.startupSeconds ?? -1) }
            .joined(separator: ", ") + String(format: "; TTFT p50 %.1f vs %.1f ms", wideTTFT, narrowTTFT))
        try? FileManager.default.removeItem(at: directory)
    }

    /// vllm:num_requests_running, read straight off /metrics.
    func scrapeRunning() async throws -> Double {
        let loop = try MultiLoop(index: 0)
        defer { loop.shutdown() }
        let response = try await loop.fetch(TransferRequest(url: url + "/metrics", method: "GET"))
        let text = String(decoding: response.body, as: UTF8.self)
        var total = 0.0
        for line in text.split(separator: "\n") where line.hasPrefix("vllm:num_requests_running") {
            total += Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return total
    }
}
