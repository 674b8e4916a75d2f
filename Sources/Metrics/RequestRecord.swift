/// Everything measured about one request. Times are milliseconds on the run's monotonic clock, relative to the
/// run's epoch (the moment the run started), so records from one run line up on one timeline.
package struct RequestRecord: Sendable, Codable, Equatable {
    package var id: Int
    package var target: String
    /// Base URL of the replica that served the request.
    package var replica: String
    /// When the schedule wanted the request sent (open loop); nil in a closed loop.
    package var intendedStartMs: Double?
    /// When the request was handed to libcurl (t0).
    package var startMs: Double
    /// End of the response (or of the failure), relative to t0.
    package var e2eMs: Double
    /// Receive time of every token-carrying event, relative to t0. The first one is the TTFT.
    package var tokenEventOffsetsMs: [Double]
    /// Tokens carried by each token event, when the server reported per-chunk usage.
    package var tokensPerEvent: [Int]?
    package var promptTokens: Int?
    /// Prompt tokens the server's prefix cache held (`usage.prompt_tokens_details.cached_tokens`; nil: not reported).
    package var cachedPromptTokens: Int?
    /// Output tokens: the server's `usage.completion_tokens`, else the count of token events.
    package var outputTokens: Int
    /// True when `outputTokens` had to be estimated from events because the server sent no usage.
    package var outputTokensEstimated: Bool
    package var requestedPromptTokens: Int?
    package var requestedMaxTokens: Int?
    package var httpStatus: Int
    package var finishReason: String?
    package var failure: FailureClass?
    package var failureMessage: String?
    /// False when the server answered with a single JSON body (then TTFT = E2E).
    package var streamed: Bool
    package var connectMs: Double?
    package var tlsMs: Double?
    package var firstByteMs: Double?
    package var reusedConnection: Bool?
    /// The HTTP version the answer came over ("1.1", "2"); nil when none started (or in older records).
    package var httpVersion: String?
    /// The generated text, kept only when needed (schema validation, `--save-outputs`).
    package var outputText: String?
    /// Structured-output check of a successful response against the request's JSON schema (nil: no schema).
    package var schemaVerdict: SchemaVerdict?
    /// For `schema-violation`: the JSON pointer and message of the first error; for `not-json`: the parse error.
    package var schemaError: String?
    /// "warmup" or "cooldown" when the request is outside the measured window (kept on disk, left out of results).
    package var excludedAs: String?
    /// Times the request was re-sent because a reused keep-alive connection died before any byte of the answer
    /// (the server had closed it); nil when it was sent once.
    package var retries: Int?
    /// The multi-turn session the request is a turn of (workload-wide number), and which turn (1-based); nil
    /// outside sessions.
    package var session: Int?
    package var turn: Int?
    /// Reasoning models: when the first answer token (`content`) arrived, relative to t0 (nil: no reasoning
    /// events came first, so it is the TTFT).
    package var firstAnswerOffsetMs: Double?
    /// Output tokens the server reported as reasoning (`usage.completion_tokens_details.reasoning_tokens`), or
    /// counted from the stream's reasoning events when the server reported none for a stream that reasoned.
    package var reasoningTokens: Int?
    /// True when `reasoningTokens` was counted from the stream (the server reported 0 or nothing).
    package var reasoningTokensCounted: Bool?

    package init(id: Int, target: String, replica: String, intendedStartMs: Double? = nil, startMs: Double,
                e2eMs: Double, tokenEventOffsetsMs: [Double] = [], tokensPerEvent: [Int]? = nil,
                promptTokens: Int? = nil, outputTokens: Int = 0, outputTokensEstimated: Bool = false,
                requestedPromptTokens: Int? = nil, requestedMaxTokens: Int? = nil, httpStatus: Int = 200,
                finishReason: String? = nil, failure: FailureClass? = nil, failureMessage: String? = nil,
                streamed: Bool = true) {
        self.id = id
        self.target = target
        self.replica = replica
        self.intendedStartMs = intendedStartMs
        self.startMs = startMs
        self.e2eMs = e2eMs
        self.tokenEventOffsetsMs = tokenEventOffsetsMs
        self.tokensPerEvent = tokensPerEvent
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
        self.outputTokensEstimated = outputTokensEstimated
        self.requestedPromptTokens = requestedPromptTokens
        self.requestedMaxTokens = requestedMaxTokens
        self.httpStatus = httpStatus
        self.finishReason = finishReason
        self.failure = failure
        self.failureMessage = failureMessage
        self.streamed = streamed
    }

    package var succeeded: Bool { failure == nil }

    /// Largest gap between consecutive token events.
    package var maxEventGapMs: Double? { eventGapsMs.max() }

    /// Mean gap between consecutive token events.
    package var meanEventGapMs: Double? {
        let gaps = eventGapsMs
        return gaps.isEmpty ? nil : gaps.reduce(0, +) / Double(gaps.count)
    }

    /// Time to first token: first token-carrying event minus t0.
    package var ttftMs: Double? { tokenEventOffsetsMs.first }

    /// Gaps between consecutive token-carrying events (`itl_event`).
    package var eventGapsMs: [Double] {
        guard tokenEventOffsetsMs.count > 1 else { return [] }
        return (1..<tokenEventOffsetsMs.count).map { tokenEventOffsetsMs[$0] - tokenEventOffsetsMs[$0 - 1] }
    }

    /// Each event's gap split evenly over the tokens it carried (`itl_token`); nil without per-event counts.
    package var tokenGapsMs: [Double]? {
        guard let counts = tokensPerEvent, counts.count == tokenEventOffsetsMs.count else { return nil }
        var gaps: [Double] = []
        for i in 1..<max(1, tokenEventOffsetsMs.count) {
            let gap = tokenEventOffsetsMs[i] - tokenEventOffsetsMs[i - 1]
            let tokens = max(1, counts[i])
            for _ in 0..<tokens { gaps.append(gap / Double(tokens)) }
        }
        return gaps
    }

    /// Time per output token after the first: (E2E − TTFT) / (output tokens − 1).
    package var tpotMs: Double? {
        guard let ttft = ttftMs, outputTokens > 1 else { return nil }
        return (e2eMs - ttft) / Double(outputTokens - 1)
    }

    /// Mean tokens per token-carrying event.
    package var meanTokensPerEvent: Double? {
        guard !tokenEventOffsetsMs.isEmpty, outputTokens > 0 else { return nil }
        return Double(outputTokens) / Double(tokenEventOffsetsMs.count)
    }

    /// Lateness of the actual send versus the schedule (open loop).
    package var sendLagMs: Double? { intendedStartMs.map { startMs - $0 } }

    /// Completion time on the run's timeline.
    package var endMs: Double { startMs + e2eMs }
}
