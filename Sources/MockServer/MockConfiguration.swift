import LatencyModel

/// Everything `tpbench mock` and in-process users can set. Defaults give a Qwen3-30B-A3B on one H200.
package struct MockConfiguration: Sendable {
    /// Fixed timing that ignores load: every stream gets this TTFT and ITL (each drawn from a normal
    /// distribution when a standard deviation is set).
    package struct FixedLatency: Sendable, Equatable {
        package var timeToFirstTokenMs: Double
        package var interTokenLatencyMs: Double
        package var timeToFirstTokenStdMs: Double = 0
        package var interTokenLatencyStdMs: Double = 0

        package init(
            timeToFirstTokenMs: Double, interTokenLatencyMs: Double, timeToFirstTokenStdMs: Double = 0,
            interTokenLatencyStdMs: Double = 0
        ) {
            self.timeToFirstTokenMs = timeToFirstTokenMs
            self.interTokenLatencyMs = interTokenLatencyMs
            self.timeToFirstTokenStdMs = timeToFirstTokenStdMs
            self.interTokenLatencyStdMs = interTokenLatencyStdMs
        }
    }

    /// Seeded fault injection; every probability is per request.
    package struct Faults: Sendable, Equatable {
        /// Share of generation requests answered with HTTP 500.
        package var errorRate: Double = 0
        /// Reject new requests while more than this many wait for admission.
        package var rejectWhenWaitingOver: Int? = nil
        /// Status for those rejections: 429 (rate limited) or 503 (overloaded), both with Retry-After.
        package var rejectStatus: Int = 429
        /// Share of streams whose connection is cut at a random token.
        package var dropRate: Double = 0
        /// Share of streams that stop sending at a random token and keep the connection open.
        package var stallRate: Double = 0
        /// Delay before the response's first byte, in milliseconds (applied to `slowStartRate` of requests).
        package var slowStartMs: Double = 0
        package var slowStartRate: Double = 1
        /// The engine serves this many generation requests, then dies: /health answers 503, streams in flight
        /// end with an error event and later requests get 500.
        package var engineDeathAfter: Int? = nil

        package init() {}
    }

    /// How long an answer is when the client lets the model stop (no `ignore_eos`): a normal draw clamped to
    /// [min_tokens, max_tokens]; nil runs every request to max_tokens.
    package struct OutputLength: Sendable, Equatable {
        package var mean: Double
        package var standardDeviation: Double
        package init(mean: Double, standardDeviation: Double) {
            self.mean = mean
            self.standardDeviation = standardDeviation
        }
    }

    package var replicaSpec: ReplicaSpec
    /// Names `/v1/models` lists and requests may use; the first is reported in responses.
    package var servedModelNames: [String]
    package var fixedLatency: FixedLatency? = nil
    package var faults = Faults()
    package var outputLength: OutputLength? = nil
    /// Tokens carried by one streamed event (vLLM's stream interval); 1 = one chunk per token.
    package var tokensPerEvent: Int = 1
    /// Wall seconds per simulated second (0.1 runs ten times faster). Latencies a client measures scale with it.
    package var timeScale: Double = 1
    package var seed: UInt64 = 0
    package var host: String = "127.0.0.1"
    /// First port; 0 picks a free one. Replicas take consecutive ports.
    package var port: Int = 0
    package var replicas: Int = 1
    /// Automatic prefix caching (vLLM's `--enable-prefix-caching`, on by default there; off here unless asked, so
    /// the mock's timing follows the latency model alone): shared prompt prefixes skip their prefill.
    package var prefixCaching = false
    /// A reasoning model (`--reasoning-tokens`): a chat answer's first this many tokens stream as
    /// `delta.reasoning_content` (vLLM's reasoning parsers), the rest as `content`; usage reports them in
    /// `completion_tokens_details.reasoning_tokens`. 0: none. Capped one short of the answer, which keeps a token.
    package var reasoningTokens = 0

    package init(replicaSpec: ReplicaSpec = ReplicaSpec(model: .qwen3_30b_a3b, gpu: .h200)) {
        self.replicaSpec = replicaSpec
        self.servedModelNames = [replicaSpec.model.servedName, replicaSpec.model.name]
    }

    /// A sentence saying what is wrong and how to fix it, or nil.
    package func validationProblem() -> String? {
        if fixedLatency == nil, let problem = replicaSpec.validationProblem() { return problem }
        if let f = fixedLatency {
            for value in [f.timeToFirstTokenMs, f.interTokenLatencyMs, f.timeToFirstTokenStdMs, f.interTokenLatencyStdMs]
            where !(0...3_600_000).contains(value) {
                return "--ttft-ms, --itl-ms and their std must be in 0...3600000 ms (an hour), got \(value)"
            }
        }
        for (name, p) in [
            ("--error-rate", faults.errorRate), ("--drop-rate", faults.dropRate), ("--stall", faults.stallRate),
            ("--slow-start-rate", faults.slowStartRate),
        ] where !(0...1).contains(p) {
            return "\(name) is a probability and must be between 0 and 1 (got \(p))"
        }
        if ![429, 503].contains(faults.rejectStatus) { return "--reject-status must be 429 or 503" }
        if !(0...3_600_000).contains(faults.slowStartMs) {
            return "--slow-start must be in 0...3600000 ms (an hour), got \(faults.slowStartMs)"
        }
        if !(1...4096).contains(tokensPerEvent) { return "--tokens-per-event must be in 1...4096, got \(tokensPerEvent)" }
        if !(timeScale > 0 && timeScale <= 1000) { return "--time-scale must be in (0, 1000], got \(timeScale)" }
        if let n = faults.rejectWhenWaitingOver, !(0...10_000_000).contains(n) {
            return "--reject-when-waiting-over must be in 0...10000000, got \(n)"
        }
        if let n = faults.engineDeathAfter, !(0...100_000_000).contains(n) {
            return "--engine-death-after must be in 0...100000000, got \(n)"
        }
        if let length = outputLength, !(length.mean > 0 && length.mean <= 1_048_576 && length.standardDeviation >= 0
                                         && length.standardDeviation <= 1_048_576) {
            return "--output-len-mean must be in (0, 1048576] tokens and its std in 0...1048576"
        }
        if replicas < 1 || replicas > 64 { return "--replicas must be between 1 and 64 (got \(replicas))" }
        if port < 0 || port + replicas - 1 > 65535 { return "--port \(port) leaves no room for \(replicas) replicas" }
        if servedModelNames.isEmpty { return "at least one served model name is needed" }
        return nil
    }
}

/// A configuration that cannot run, with the sentence that says why.
package struct MockConfigurationError: Error, Sendable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
