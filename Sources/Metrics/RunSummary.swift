/// The headline numbers of one target's run, computed from its request records alone.
package struct TargetSummary: Sendable, Codable, Equatable {
    package var target: String
    package var requests: Int
    package var succeeded: Int
    package var failed: Int
    package var failures: [String: Int]
    /// One sample message per failure class, so a reader sees what went wrong.
    package var failureSamples: [String: String]
    /// Measured window: first start to last completion, seconds.
    package var durationS: Double
    package var requestsPerSecond: Double
    package var outputTokensPerSecond: Double
    package var totalTokensPerSecond: Double
    package var outputTokens: Int
    package var promptTokens: Int
    /// True when some output token counts were estimated from events (no usage from the server).
    package var outputTokensEstimated: Bool
    /// True when some successful responses were not streamed (their TTFT equals E2E).
    package var nonStreamedResponses: Int
    package var ttftMs: Distribution?
    package var itlEventMs: Distribution?
    /// Nil when the server did not report tokens per event.
    package var itlTokenMs: Distribution?
    package var tpotMs: Distribution?
    package var e2eMs: Distribution?
    package var tokensPerEvent: Distribution?
    package var outputTokensPerRequest: Distribution?
    package var promptTokensPerRequest: Distribution?
    package var sendLagMs: Distribution?
    package var ttftFromIntendedMs: Distribution?
    package var e2eFromIntendedMs: Distribution?
    /// Requests per second that succeeded, met every SLO and (with a schema) were schema-valid.
    package var goodputRPS: Double
    /// Share of all requests (failures included) that met every objective.
    package var sloAttainment: Double
    package var slo: SLO?
    package var schema: SchemaSummary?
    /// Highest output tokens/s over any whole 1-second bucket of the run.
    package var peakOutputTokensPerSecond: Double
    /// Requests served by each replica (base URL).
    package var requestsPerReplica: [String: Int]
    /// Client-side connection setup of requests that opened a new connection.
    package var connectMs: Distribution?
    /// Mean prompt length the workload asked for (nil in results from before it was recorded).
    package var requestedPromptTokensMean: Double?
    /// Mean `max_tokens` the workload asked for.
    package var requestedMaxTokensMean: Double?
    /// Requests by the HTTP version their answer came over ("1.1", "2"); nil in results from before it was recorded.
    package var httpVersions: [String: Int]? = nil
    /// Prompt tokens of successful requests the server reported as served from its prefix cache
    /// (`usage.prompt_tokens_details.cached_tokens`), and the prompt tokens of those requests; nil when no
    /// response reported it.
    package var cachedPromptTokens: Int? = nil
    package var promptTokensWithCacheReport: Int? = nil
    /// Multi-turn runs: one entry per turn number (nil without sessions). Turn 1's requests are the sessions started.
    package var turns: [TurnSummary]? = nil
    /// Reasoning models: time from t0 to the first answer (`content`) token, over the requests whose stream had
    /// reasoning first; TTFT counts the first token of either. Nil when no stream reasoned.
    package var timeToFirstAnswerMs: Distribution? = nil
    /// Output tokens reported as reasoning (`usage.completion_tokens_details.reasoning_tokens`), nil: not reported.
    /// Requests whose server reported 0 for a stream that reasoned add their counted reasoning events instead.
    package var reasoningTokens: Int? = nil
    /// Requests whose reasoning tokens were counted from their streams because the server reported none.
    package var reasoningTokensCounted: Int? = nil

    /// Sessions of a multi-turn run (its first turns), nil without sessions.
    package var sessions: Int? { turns?.first { $0.turn == 1 }?.requests }

    /// Share of prompt tokens served from the prefix cache, over the requests that reported it.
    package var prefixCacheHitRate: Double? {
        guard let cached = cachedPromptTokens, let total = promptTokensWithCacheReport, total > 0 else { return nil }
        return Double(cached) / Double(total)
    }

    package var errorRate: Double { requests == 0 ? 0 : Double(failed) / Double(requests) }
}

/// What the requests of one turn number saw across a multi-turn run's sessions: the prompt (the history so far
/// plus the new message) grows turn by turn, and with it the prefill a cache does not save.
package struct TurnSummary: Sendable, Codable, Equatable {
    /// 1-based.
    package var turn: Int
    package var requests: Int
    package var succeeded: Int
    /// Mean prompt tokens the server counted, over the successful requests.
    package var promptTokensMean: Double?
    /// Share of their prompt tokens served from the prefix cache (nil: not reported).
    package var prefixCacheHitRate: Double?
    package var ttftMs: Distribution?

    package init(turn: Int, requests: Int, succeeded: Int, promptTokensMean: Double?, prefixCacheHitRate: Double?,
                ttftMs: Distribution?) {
        self.turn = turn
        self.requests = requests
        self.succeeded = succeeded
        self.promptTokensMean = promptTokensMean
        self.prefixCacheHitRate = prefixCacheHitRate
        self.ttftMs = ttftMs
    }
}

package enum Aggregator {
    /// Summarises one target's records. Latency percentiles are over successful requests only; failures are
    /// counted by class and stay in the denominators of rates.
    package static func summarize(target: String, records: [RequestRecord], slo: SLO? = nil) -> TargetSummary {
        var builder = SummaryBuilder(target: target, slo: slo)
        builder.add(contentsOf: records)
        return builder.summary
    }
}
