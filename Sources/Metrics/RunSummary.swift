/// The headline numbers of one target's run, computed from its request records alone.
public struct TargetSummary: Sendable, Codable, Equatable {
    public var target: String
    public var requests: Int
    public var succeeded: Int
    public var failed: Int
    public var failures: [String: Int]
    /// One sample message per failure class, so a reader sees what went wrong.
    public var failureSamples: [String: String]
    /// Measured window: first start to last completion, seconds.
    public var durationS: Double
    public var requestsPerSecond: Double
    public var outputTokensPerSecond: Double
    public var totalTokensPerSecond: Double
    public var outputTokens: Int
    public var promptTokens: Int
    /// True when some output token counts were estimated from events (no usage from the server).
    public var outputTokensEstimated: Bool
    /// True when some successful responses were not streamed (their TTFT equals E2E).
    public var nonStreamedResponses: Int
    public var ttftMs: Distribution?
    public var itlEventMs: Distribution?
    /// Nil when the server did not report tokens per event.
    public var itlTokenMs: Distribution?
    public var tpotMs: Distribution?
    public var e2eMs: Distribution?
    public var tokensPerEvent: Distribution?
    public var outputTokensPerRequest: Distribution?
    public var promptTokensPerRequest: Distribution?
    public var sendLagMs: Distribution?
    public var ttftFromIntendedMs: Distribution?
    public var e2eFromIntendedMs: Distribution?
    /// Requests per second that succeeded, met every SLO and (with a schema) were schema-valid.
    public var goodputRPS: Double
    /// Share of all requests (failures included) that met every objective.
    public var sloAttainment: Double
    public var slo: SLO?
    public var schema: SchemaSummary?
    /// Highest output tokens/s over any whole 1-second bucket of the run.
    public var peakOutputTokensPerSecond: Double
    /// Requests served by each replica (base URL).
    public var requestsPerReplica: [String: Int]
    /// Client-side connection setup of requests that opened a new connection.
    public var connectMs: Distribution?
    /// Mean prompt length the workload asked for (nil in results from before it was recorded).
    public var requestedPromptTokensMean: Double?
    /// Mean `max_tokens` the workload asked for.
    public var requestedMaxTokensMean: Double?
    /// Requests by the HTTP version their answer came over ("1.1", "2"); nil in results from before it was recorded.
    public var httpVersions: [String: Int]? = nil
    /// Prompt tokens of successful requests the server reported as served from its prefix cache
    /// (`usage.prompt_tokens_details.cached_tokens`), and the prompt tokens of those requests; nil when no
    /// response reported it.
    public var cachedPromptTokens: Int? = nil
    public var promptTokensWithCacheReport: Int? = nil
    /// Multi-turn runs: one entry per turn number (nil without sessions). Turn 1's requests are the sessions started.
    public var turns: [TurnSummary]? = nil
    /// Reasoning models: time from t0 to the first answer (`content`) token, over the requests whose stream had
    /// reasoning first; TTFT counts the first token of either. Nil when no stream reasoned.
    public var timeToFirstAnswerMs: Distribution? = nil
    /// Output tokens reported as reasoning (`usage.completion_tokens_details.reasoning_tokens`), nil: not reported.
    /// Requests whose server reported 0 for a stream that reasoned add their counted reasoning events instead.
    public var reasoningTokens: Int? = nil
    /// Requests whose reasoning tokens were counted from their streams because the server reported none.
    public var reasoningTokensCounted: Int? = nil

    /// Sessions of a multi-turn run (its first turns), nil without sessions.
    public var sessions: Int? { turns?.first { $0.turn == 1 }?.requests }

    /// Share of prompt tokens served from the prefix cache, over the requests that reported it.
    public var prefixCacheHitRate: Double? {
        guard let cached = cachedPromptTokens, let total = promptTokensWithCacheReport, total > 0 else { return nil }
        return Double(cached) / Double(total)
    }

    public var errorRate: Double { requests == 0 ? 0 : Double(failed) / Double(requests) }
}

/// What the requests of one turn number saw across a multi-turn run's sessions: the prompt (the history so far
/// plus the new message) grows turn by turn, and with it the prefill a cache does not save.
public struct TurnSummary: Sendable, Codable, Equatable {
    /// 1-based.
    public var turn: Int
    public var requests: Int
    public var succeeded: Int
    /// Mean prompt tokens the server counted, over the successful requests.
    public var promptTokensMean: Double?
    /// Share of their prompt tokens served from the prefix cache (nil: not reported).
    public var prefixCacheHitRate: Double?
    public var ttftMs: Distribution?

    public init(turn: Int, requests: Int, succeeded: Int, promptTokensMean: Double?, prefixCacheHitRate: Double?,
                ttftMs: Distribution?) {
        self.turn = turn
        self.requests = requests
        self.succeeded = succeeded
        self.promptTokensMean = promptTokensMean
        self.prefixCacheHitRate = prefixCacheHitRate
        self.ttftMs = ttftMs
    }
}

public enum Aggregator {
    /// Summarises one target's records. Latency percentiles are over successful requests only; failures are
    /// counted by class and stay in the denominators of rates.
    public static func summarize(target: String, records: [RequestRecord], slo: SLO? = nil) -> TargetSummary {
        var builder = SummaryBuilder(target: target, slo: slo)
        builder.add(contentsOf: records)
        return builder.summary
    }
}
