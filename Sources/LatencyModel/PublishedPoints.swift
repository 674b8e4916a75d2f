import SeededRandom

/// Published vLLM measurements the uncalibrated presets are checked against (`tpbench plan --published`; sources and
/// how each was read are in docs/LATENCY-MODEL.md).
package struct PublishedPoint: Sendable {
    package enum Figure: String, Sendable {
        /// Mean time for the whole batch (vLLM's latency benchmark).
        case batchLatencyMs = "batch latency (ms)"
        case ttftP50Ms = "TTFT p50 (ms)"
        case itlP50Ms = "ITL p50 (ms)"
        case tpotP50Ms = "TPOT p50 (ms)"
        case requestsPerS = "req/s"
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
    /// Lengths vary uniformly within ±spread of the means (seeded) when the published run drew them from a dataset
    /// whose per-request lengths are not published; 0 = every request exactly `promptTokens` → `outputTokens`.
    package var lengthSpread: Double = 0
    /// The point a preset default was read from (`ReplicaSpec.requestOverhead`): shown, but not counted in the error
    /// medians, since the model matches it by construction.
    package var isSourceOfDefault = false
    /// A burst of far more requests than the KV cache holds, every figure set by how fast the server drains a queue
    /// (prefill-bound, or bound by the API server): its own group, apart from the decode-dominated and TTFT medians
    /// the goals are stated for.
    package var isSaturated = false

    /// Batch latency, ITL, TPOT and req/s are set by decode steps; TTFT by prefill and queueing.
    package var isDecodeDominated: Bool { figure != .ttftP50Ms && !isSaturated }

    package struct Medians: Sendable {
        package var decode: Double?
        package var decodeCount: Int
        package var ttft: Double?
        package var ttftCount: Int
        package var saturated: Double?
        package var saturatedCount: Int
    }

    /// Median |predicted / measured − 1| over the counted points (not a default's source), decode-dominated, TTFT
    /// and saturated bursts apart, with how many points each has; `predictions` pairs each point with its
    /// `predicted()`.
    package static func medianErrors(_ predictions: [(point: PublishedPoint, predicted: Double)]) -> Medians {
        var decode: [Double] = [], ttft: [Double] = [], saturated: [Double] = []
        for (point, predicted) in predictions where !point.isSourceOfDefault {
            let error = abs(predicted / point.measured - 1)
            if point.isSaturated {
                saturated.append(error)
            } else if point.isDecodeDominated {
                decode.append(error)
            } else {
                ttft.append(error)
            }
        }
        return Medians(decode: Calibrator.median(decode), decodeCount: decode.count, ttft: Calibrator.median(ttft),
                       ttftCount: ttft.count, saturated: Calibrator.median(saturated),
                       saturatedCount: saturated.count)
    }

    /// The uncalibrated model's figure for this point.
    package func predicted() -> Double {
        let p = ReplicaSpec(model: model, gpu: gpu, tensorParallel: tensorParallel, link: link)
        var random = SplitMix64(seed: 1)
        func length(_ mean: Int) -> Int {
            guard lengthSpread > 0 else { return mean }
            return max(1, Int((Double(mean) * (1 + lengthSpread * (2 * random.nextUnit() - 1))).rounded()))
        }
        let lengths = (0..<requests).map { _ in
            FleetSimulation.Request(promptTokens: length(promptTokens), outputTokens: length(outputTokens))
        }
        let outcomes = FleetSimulation(parameters: p, replicas: 1, requests: lengths, load: load).run()
        switch figure {
        case .batchLatencyMs: return (outcomes.compactMap(\.tokenTimes.last).max() ?? 0) * 1000
        case .ttftP50Ms: return CalibrationFigures(outcomes: outcomes)["ttft_p50_ms"]!
        case .itlP50Ms: return CalibrationFigures(outcomes: outcomes)["itl_p50_ms"]!
        case .tpotP50Ms: return CalibrationFigures(outcomes: outcomes)["tpot_p50_ms"]!
        case .requestsPerS: return CalibrationFigures(outcomes: outcomes)["requests_per_s"]!
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

    static let gpustack = "GPUStack performance lab, Qwen3-8B latency on one H100 SXM (docs/performance-lab/qwen3-8b/"
        + "h100-latency.md): vLLM v0.11.0 `vllm serve Qwen/Qwen3-8B`, `vllm bench serve` on 100 ShareGPT prompts "
        + "(23260 prompt and 22061 output tokens) at --max-concurrency "

    /// One of GPUStack's vLLM baseline runs of Qwen3-8B on an H100, simulated with lengths within ±50 % of the
    /// dataset's means (232.6 prompt tokens plus 9 of Qwen3's chat template, 220.6 output tokens).
    static func gpustackQwen3(concurrency: Int, _ figure: Figure, measured: Double, isSourceOfDefault: Bool = false)
        -> PublishedPoint
    {
        PublishedPoint(
            name: "qwen3-8b h100 TP1 ShareGPT, \(concurrency) in flight", source: gpustack + "\(concurrency)",
            model: .qwen3_8b, gpu: .h100, tensorParallel: 1, link: .nvlink4, requests: 100, promptTokens: 242,
            outputTokens: 221, load: .closed(concurrency: concurrency), figure: figure, measured: measured,
            lengthSpread: 0.5, isSourceOfDefault: isSourceOfDefault)
    }

    static let gpustackBurst = "GPUStack performance lab, Qwen3-14B throughput on one H100 SXM (docs/performance-lab/"
        + "qwen3-14b/h100.md, \"Other Benchmark Cases\", baseline): vLLM v0.11.0 `vllm serve Qwen/Qwen3-14B`, "
        + "`vllm bench serve --backend openai-chat --dataset-name random` with every request sent at once: "

    /// One of GPUStack's saturating bursts: `requests` random prompts of `prompt` tokens (plus 9 of the chat template)
    /// and `output` tokens each, all sent at time 0 (`--request-rate inf`).
    static func gpustackBurst(requests: Int, prompt: Int, output: Int, _ figure: Figure, measured: Double)
        -> PublishedPoint
    {
        PublishedPoint(
            name: "qwen3-14b h100 TP1 burst of \(requests), \(prompt)→\(output)",
            source: gpustackBurst + "\(requests) × \(prompt) → \(output)", model: .qwen3_14b, gpu: .h100,
            tensorParallel: 1, link: .nvlink4, requests: requests, promptTokens: prompt + 9, outputTokens: output,
            load: .closed(concurrency: requests), figure: figure, measured: measured, isSaturated: true)
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
        gpustackQwen3(concurrency: 1, .itlP50Ms, measured: 7.23),
        gpustackQwen3(concurrency: 2, .itlP50Ms, measured: 7.28),
        gpustackQwen3(concurrency: 4, .itlP50Ms, measured: 7.37),
        gpustackQwen3(concurrency: 8, .itlP50Ms, measured: 7.63),
        // One request at a time has no tail: 100 requests in 166.04 s.
        gpustackQwen3(concurrency: 1, .requestsPerS, measured: 100 / 166.04),
        gpustackQwen3(concurrency: 1, .ttftP50Ms, measured: 60.38, isSourceOfDefault: true),
        gpustackQwen3(concurrency: 2, .ttftP50Ms, measured: 64.78),
        gpustackQwen3(concurrency: 4, .ttftP50Ms, measured: 60.26),
        gpustackQwen3(concurrency: 8, .ttftP50Ms, measured: 60.77),
    ] + gpustackBursts

    /// GPUStack's three bursts, four figures each: req/s (requests over the run's duration), TPOT, ITL and TTFT p50.
    static let gpustackBursts: [PublishedPoint] = {
        let runs: [(requests: Int, prompt: Int, output: Int, measured: [Double])] = [
            (500, 2000, 100, [500 / 98.91, 231.62, 46.01, 49_138.28]),
            (500, 4000, 200, [500 / 227.57, 139.68, 43.93, 110_734.54]),
            (1000, 128, 4, [1000 / 22.72, 597.29, 581.28, 18_061.13]),
        ]
        let figures: [Figure] = [.requestsPerS, .tpotP50Ms, .itlP50Ms, .ttftP50Ms]
        var points: [PublishedPoint] = []
        for run in runs {
            for (figure, measured) in zip(figures, run.measured) {
                points.append(gpustackBurst(requests: run.requests, prompt: run.prompt, output: run.output, figure,
                                            measured: measured))
            }
        }
        return points
    }()
}
