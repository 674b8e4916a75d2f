import ArgumentParser
import Foundation
import Dispatch
import LatencyModel
import MockServer
import Workload

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `tpbench mock`: a vLLM look-alike whose latency follows a model of GPUs, batching and tensor parallelism.
struct MockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock",
        abstract: "Serve an OpenAI-compatible mock whose latency follows a model of GPUs, batching and TP.",
        discussion: """
            Examples:
              tpbench mock --model qwen3-30b-a3b --gpu h200 --tp 4 --link pcie-degraded
              tpbench mock --explain --tp 4 --link nvlink4
              tpbench mock --ttft-ms 300 --itl-ms 20 --port 0

            Models: \(HardwareFiles.modelChoices).
            GPUs: \(HardwareFiles.gpuChoices).
            Links: \(LinkSpec.presets.map(\.name).joined(separator: ", ")).
            Prompt tokens are billed by the mock's tokenizer (about one token per short word; POST /tokenize);
            a chat prompt costs 3 + Σ(5 + tokens(content)) over its messages.
            """
    )

    @Option(help: "Model preset or Hugging Face config.json (default: the --preset file's, else qwen3-30b-a3b).") var model: String?
    @Option(help: "GPU preset or device YAML file (default: the --preset file's, else h200).") var gpu: String?
    @Option(help: "Tensor-parallel size (GPUs per replica).") var tp = 1
    @Option(help: "Interconnect between the TP GPUs (default: the --preset file's, else nvlink4).") var link: String?
    @Option(help: ArgumentHelp("A calibrated latency-model preset (`tpbench calibrate` writes one); flags below override it.",
                               valueName: "file"))
    var preset: String?
    @Option(help: "Address to bind; keep it on loopback unless you mean to expose the mock.") var host = "127.0.0.1"
    @Option(help: "First port; 0 picks a free one. The chosen ports are printed.") var port = 0
    @Option(help: "Independent replicas on consecutive ports (data parallel).") var replicas = 1
    @Flag(help: "Print the step-time breakdown for a few batch sizes and exit.") var explain = false
    @Flag(help: ArgumentHelp(
        "Cache prompt prefixes as vLLM's automatic prefix caching does (on by default in vLLM): shared leading "
            + "KV blocks skip prefill, usage reports prompt_tokens_details.cached_tokens, /metrics "
            + "vllm:prefix_cache_hits_total and _queries_total."))
    var enablePrefixCaching = false

    @Option(help: ArgumentHelp(
        "Act as a reasoning model: each chat answer's first N tokens stream as delta.reasoning_content, the rest as "
            + "content (usage.completion_tokens_details.reasoning_tokens).", valueName: "n"))
    var reasoningTokens: Int = 0

    @Option(name: .customLong("ttft-ms"), help: "Fixed-latency mode: time to first token, ignoring load.")
    var ttftMs: Double?
    @Option(name: .customLong("itl-ms"), help: "Fixed-latency mode: inter-token latency.") var itlMs: Double?
    @Option(name: .customLong("ttft-std-ms"), help: "Standard deviation of the fixed TTFT.") var ttftStdMs = 0.0
    @Option(name: .customLong("itl-std-ms"), help: "Standard deviation of the fixed ITL.") var itlStdMs = 0.0
    @Option(help: "Tokens per streamed event (vLLM's stream interval).") var tokensPerEvent = 1
    @Option(help: "Wall seconds per simulated second (0.1 runs 10x faster; client-measured latencies scale too).")
    var timeScale = 1.0
    @Option(help: "Seed for every random choice (output text, faults, jitter).") var seed: UInt64 = 0
    @Option(
        name: .customLong("served-model-name"),
        help: "Name the model is served under (repeatable; default: the preset's Hugging Face id and short name).")
    var servedModelNames: [String] = []
    @Option(help: "Mean output length when a request does not set ignore_eos (default: run to max_tokens).")
    var outputLenMean: Double?
    @Option(help: "Standard deviation of that output length.") var outputLenStd = 0.0

    @Option(help: "Override vLLM's max_num_seqs.") var maxNumSeqs: Int?
    @Option(help: "Override vLLM's max_num_batched_tokens.") var maxNumBatchedTokens: Int?
    @Option(help: "Override vLLM's gpu_memory_utilization.") var gpuMemoryUtilization: Double?
    @Option(help: "Model FLOP utilisation (default 0.5).") var mfu: Double?
    @Option(help: "Memory bandwidth utilisation (default 0.8).") var mbu: Double?
    @Option(name: .customLong("cpu-overhead-ms"), help: "Per-step CPU overhead (default 1.5).") var cpuOverheadMs: Double?
    @Option(name: .customLong("sync-overhead-ms"), help: "Per-step TP sync overhead (default 1).")
    var syncOverheadMs: Double?
    @Option(help: "Relative std of seeded step-time jitter (default 0).") var stepJitter: Double?

    @Option(help: "Share of generation requests answered with HTTP 500.") var errorRate = 0.0
    @Option(help: "Reject requests (429/503 with Retry-After) while more than N are waiting.")
    var rejectWhenWaitingOver: Int?
    @Option(help: "Status for those rejections: 429 or 503.") var rejectStatus = 429
    @Option(help: "Share of streams whose connection is cut mid-answer.") var dropRate = 0.0
    @Option(help: "Share of streams that stop sending mid-answer and stay open.") var stall = 0.0
    @Option(help: "Delay the first byte of responses by this many milliseconds.") var slowStart = 0.0
    @Option(help: "Share of requests --slow-start applies to.") var slowStartRate = 1.0
    @Option(help: "Serve N generation requests, then die (health 503, streams end with an error).")
    var engineDeathAfter: Int?
    @Flag(help: ArgumentHelp(
        "Run the emission loops at real-time priority (SCHED_FIFO 1; needs root or CAP_SYS_NICE).",
        discussion: "On a machine shared with the load generator this keeps the mock on its schedule: at 1000 "
            + "streams x 20 ms on 2 cores, emission lateness p99 went from ~4 ms to under 1 ms."))
    var realtime = false

    func validate() throws {
        _ = try makeConfiguration()
    }

    func makeConfiguration() throws -> MockConfiguration {
        let hardware = try HardwareSelection.resolve(model: model, gpu: gpu, link: link, presetPath: preset)
        var spec = ReplicaSpec(model: hardware.model, gpu: hardware.gpu, tensorParallel: tp, link: hardware.link)
        hardware.preset?.apply(to: &spec)
        if let v = maxNumSeqs { spec.maxNumSeqs = v }
        if let v = maxNumBatchedTokens { spec.maxNumBatchedTokens = v }
        if let v = gpuMemoryUtilization { spec.gpuMemoryUtilization = v }
        if let v = mfu { spec.mfu = v }
        if let v = mbu { spec.mbu = v }
        if let v = cpuOverheadMs { spec.cpuOverhead = v / 1000 }
        if let v = syncOverheadMs { spec.syncOverhead = v / 1000 }
        if let v = stepJitter { spec.stepJitter = v }

        var config = MockConfiguration(replicaSpec: spec)
        if !servedModelNames.isEmpty { config.servedModelNames = servedModelNames }
        switch (ttftMs, itlMs) {
        case (let ttft?, let itl?):
            config.fixedLatency = .init(
                timeToFirstTokenMs: ttft, interTokenLatencyMs: itl, timeToFirstTokenStdMs: ttftStdMs,
                interTokenLatencyStdMs: itlStdMs)
        case (nil, nil): break
        default: throw ValidationError("fixed-latency mode needs both --ttft-ms and --itl-ms")
        }
        if let mean = outputLenMean { config.outputLength = .init(mean: mean, standardDeviation: outputLenStd) }
        config.tokensPerEvent = tokensPerEvent
        config.timeScale = timeScale
        config.seed = seed
        config.host = host
        config.port = port
        config.replicas = replicas
        config.prefixCaching = enablePrefixCaching
        config.reasoningTokens = reasoningTokens
        config.faults.errorRate = errorRate
        config.faults.rejectWhenWaitingOver = rejectWhenWaitingOver
        config.faults.rejectStatus = rejectStatus
        config.faults.dropRate = dropRate
        config.faults.stallRate = stall
        config.faults.slowStartMs = slowStart
        config.faults.slowStartRate = slowStartRate
        config.faults.engineDeathAfter = engineDeathAfter
        if let problem = config.validationProblem() { throw ValidationError(problem) }
        return config
    }

    func run() async throws {
        let config = try makeConfiguration()
        if explain {
            print(Explanation.text(for: config.replicaSpec), terminator: "")
            return
        }
        if !["127.0.0.1", "localhost", "::1"].contains(host) && !host.hasPrefix("127.") {
            FileHandle.standardError.write(Data("warning: --host \(host) is not loopback; the mock has no authentication.\n".utf8))
        }
        let server: MockServer
        do {
            server = try await MockServer.start(config)
        } catch {
            throw ValidationError("\(error)")
        }
        let e = config.replicaSpec
        if let fixed = config.fixedLatency {
            print("tpbench mock: fixed latency, TTFT \(fixed.timeToFirstTokenMs) ms, ITL \(fixed.interTokenLatencyMs) ms")
        } else {
            print("tpbench mock: \(e.model.name) on \(e.tensorParallel)× \(e.gpu.displayName) over \(e.link.name)")
        }
        if realtime {
            if let problem = await server.enableRealtimeScheduling() {
                FileHandle.standardError.write(Data("warning: --realtime: \(problem); running at normal priority\n".utf8))
            } else {
                print("scheduling: real-time (SCHED_FIFO 1) for the emission loops")
            }
        }
        print("model: \(config.servedModelNames[0])")
        print("pid: \(getpid())")
        for url in server.baseURLs { print("listening: \(url)") }
        fflush(nil)  // stdout may be a pipe (run.sh reads the port from it)

        await Self.waitForTermination()
        for summary in await server.emissionLateness() { print("emission lateness: \(summary)") }
        try await server.shutdown()
    }

    /// Suspends until SIGINT or SIGTERM.
    private static func waitForTermination() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "tpbench.mock.signals")
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumed = ResumeOnce(continuation)
            let sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
            resumed.keep(sources)
            for source in sources {
                source.setEventHandler { resumed.resume() }
                source.resume()
            }
        }
    }

    private func printError(_ message: String) {
        var stderrStream = StandardError()
        print(message, to: &stderrStream)
    }
}

/// Resumes a continuation at most once, from whichever signal arrives first; runs on one serial queue.
private final class ResumeOnce: @unchecked Sendable {
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func keep(_ sources: [DispatchSourceSignal]) { self.sources = sources }

    func resume() {
        continuation?.resume()
        continuation = nil
        for source in sources { source.cancel() }
    }
}

private struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
