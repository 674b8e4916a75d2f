/// Published vLLM measurements the uncalibrated presets are checked against (`tpbench plan --published`; sources and
/// how each was read are in docs/LATENCY-MODEL.md).
package struct PublishedPoint: Sendable {
    package enum Figure: String, Sendable {
        /// Mean time for the whole batch (vLLM's latency benchmark).
        case batchLatencyMs = "batch latency (ms)"
        case ttftP50Ms = "TTFT p50 (ms)"
        case itlP50Ms = "ITL p50 (ms)"
    }

    package var name: String
    package var source: String
    package var model: ModelSpec
    package var gpu: GPUSpec
    package var tensorParallel: Int
    package var link: LinkSpec
    package var requests: Int
    package var promptTokens: Int
    package var outputTokens: Int
    package var load: FleetSimulation.Load
    package var figure: Figure
    package var measured: Double

    /// Batch latency and ITL are set by decode steps; TTFT by prefill and queueing.
    package var isDecodeDominated: Bool { figure != .ttftP50Ms }

    /// The uncalibrated model's figure for this point.
    package func predicted() -> Double {
        let p = ReplicaSpec(model: model, gpu: gpu, tensorParallel: tensorParallel, link: link)
        let outcomes = FleetSimulation(
            parameters: p, replicas: 1,
            requests: Array(repeating: .init(promptTokens: promptTokens, outputTokens: outputTokens), count: requests),
            load: load
        ).run()
        switch figure {
        case .batchLatencyMs: return (outcomes.compactMap(\.tokenTimes.last).max() ?? 0) * 1000
        case .ttftP50Ms: return CalibrationFigures(outcomes: outcomes)["ttft_p50_ms"]!
        case .itlP50Ms: return CalibrationFigures(outcomes: outcomes)["itl_p50_ms"]!
        }
    }

    static let vllmLatency = "vLLM performance benchmarks (Buildkite), latency test: 8 prompts of 32 tokens, "
        + "128 output tokens, mean of 15 iterations"
    static let writeUp = "the public TP=4-vs-TP=1 write-up (tpbench's brief): 100 concurrent requests, 1000-token "
        + "prompts, 500-token JSON outputs"

    static func latency(_ model: ModelSpec, _ gpu: GPUSpec, tp: Int, measured: Double, note: String) -> PublishedPoint {
        PublishedPoint(
            name: "\(model.name) \(gpu.name) TP\(tp) batch 8, 32→128", source: vllmLatency + note, model: model,
            gpu: gpu, tensorParallel: tp, link: .nvlink4, requests: 8, promptTokens: 32, outputTokens: 128,
            load: .batch, figure: .batchLatencyMs, measured: measured)
    }

    package static let all: [PublishedPoint] = [
        latency(.llama3_1_8b, .h100, tp: 1, measured: 997.542, note: " (H100 dashboard page)"),
        latency(.llama3_1_8b, .h200, tp: 1, measured: 833.421, note: " (H200, build 9515, quoted in vLLM PR #9768)"),
        latency(.llama3_1_8b, .a100, tp: 1, measured: 1585.43, note: " (A100 dashboard page)"),
        latency(.llama3_1_70b, .h100, tp: 4, measured: 2444.47, note: " (H100 dashboard page)"),
        latency(.llama3_1_70b, .h200, tp: 4, measured: 2077.53, note: " (H200, build 9515, quoted in vLLM PR #9768)"),
        latency(.mixtral_8x7b, .h100, tp: 2, measured: 2326.97, note: " (H100 dashboard page)"),
        latency(.mixtral_8x7b, .h200, tp: 2, measured: 1917.44, note: " (H200, build 9515, quoted in vLLM PR #9768)"),
        PublishedPoint(name: "qwen3-30b-a3b h200 TP1 100 in flight, 1000→500", source: writeUp,
                       model: .qwen3_30b_a3b, gpu: .h200, tensorParallel: 1, link: .nvlink4, requests: 300,
                       promptTokens: 1000, outputTokens: 500, load: .closed(concurrency: 100), figure: .itlP50Ms,
                       measured: 22),
        PublishedPoint(name: "qwen3-30b-a3b h200 TP1 100 in flight, 1000→500", source: writeUp,
                       model: .qwen3_30b_a3b, gpu: .h200, tensorParallel: 1, link: .nvlink4, requests: 300,
                       promptTokens: 1000, outputTokens: 500, load: .closed(concurrency: 100), figure: .ttftP50Ms,
                       measured: 450),
    ]
}
