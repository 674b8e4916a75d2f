/// Builds one target's summary, histograms and time series from its request records as they finish, one at a
/// time, in bounded memory (see `SampleSet`). The live runner feeds it record by record; `Aggregator.summarize`
/// and `RunResult.build` feed it a saved array: one code path, so a live run and `tpbench report` agree exactly.
/// The result does not depend on the order records arrive in (ties such as failure samples go to the lowest id;
/// floating-point sums of the time series may differ in their last bit).
package struct SummaryBuilder: Sendable {
    package let target: String
    package let slo: SLO?

    private var requests = 0
    /// Warm-up and cool-down requests handed to `add` and left out of every figure.
    package private(set) var excludedRequests = 0
    private var succeeded = 0
    private var failures: [String: Int] = [:]
    private var failureSamples: [String: (id: Int, message: String)] = [:]
    private var firstStartMs = Double.infinity
    private var lastEndMs = -Double.infinity
    private var outputTokens = 0
    private var promptTokens = 0
    /// Cached and total prompt tokens of the successful requests whose usage reported cached tokens.
    private var cachedPrompt: (cached: Int, total: Int, reports: Int) = (0, 0, 0)
    private var outputTokensEstimated = false
    private var nonStreamed = 0
    private var ttft: SampleSet
    private var itlEvent: SampleSet
    private var itlToken: SampleSet
    /// False once a successful request came without per-event token counts: `itl_token` is then unavailable.
    private var everyRequestHasTokenCounts = true
    private var tpot: SampleSet
    private var e2e: SampleSet
    private var tokensPerEvent: SampleSet
    private var outputPerRequest: SampleSet
    private var promptPerRequest: SampleSet
    private var sendLag: SampleSet
    private var ttftFromIntended: SampleSet
    private var e2eFromIntended: SampleSet
    private var connect: SampleSet
    private var good = 0
    private var perReplica: [String: Int] = [:]
    private var httpVersions: [String: Int] = [:]
    private var series = TimeSeriesBuilder()
    private var schemaCounts: [SchemaVerdict: Int] = [:]
    private var schemaSamples: [(id: Int, text: String)] = []
    private var requestedPrompt = (sum: 0, count: 0)
    private var requestedMax = (sum: 0, count: 0)
    /// Multi-turn runs: per turn number, what its requests saw (how TTFT grows with the history).
    private var perTurn: [Int: TurnAccumulator] = [:]
    /// Reasoning models: time to the first answer token, and reasoning tokens over the requests that reported them.
    private var firstAnswer: SampleSet
    private var reasoning = (tokens: 0, reports: 0, counted: 0)
    private let exactLimit: Int

    private struct TurnAccumulator: Sendable {
        var requests = 0
        var succeeded = 0
        var promptTokens = 0
        var cached = (tokens: 0, prompt: 0, reports: 0)
        var ttft: SampleSet
    }

    package init(target: String, slo: SLO? = nil, exactLimit: Int = SampleSet.defaultExactLimit) {
        self.target = target
        self.slo = slo
        self.exactLimit = exactLimit
        let empty = SampleSet(exactLimit: exactLimit)
        firstAnswer = empty
        (ttft, itlEvent, itlToken, tpot, e2e) = (empty, empty, empty, empty, empty)
        (tokensPerEvent, outputPerRequest, promptPerRequest) = (empty, empty, empty)
        (sendLag, ttftFromIntended, e2eFromIntended, connect) = (empty, empty, empty, empty)
    }

    /// Adds one finished request. Warm-up and cool-down records (`excludedAs`) are counted and left out here, the
    /// one place that filter lives: the live run (`RunAggregate`), a re-render (`RunResult.build(records:)`) and a
    /// merge of shards (`MergeSession`) all hand every record to the builder.
    package mutating func add(_ record: RequestRecord) {
        guard record.excludedAs == nil else {
            excludedRequests += 1
            return
        }
        requests += 1
        firstStartMs = min(firstStartMs, record.startMs)
        lastEndMs = max(lastEndMs, record.endMs)
        perReplica[record.replica, default: 0] += 1
        if let version = record.httpVersion { httpVersions[version, default: 0] += 1 }
        series.add(record)
        if let lag = record.sendLagMs { sendLag.add(lag) }
        if record.reusedConnection == false, let ms = record.connectMs { connect.add(ms) }
        if let n = record.requestedPromptTokens { requestedPrompt = (requestedPrompt.sum + n, requestedPrompt.count + 1) }
        if let n = record.requestedMaxTokens { requestedMax = (requestedMax.sum + n, requestedMax.count + 1) }
        if (slo ?? SLO()).isMet(by: record) { good += 1 }
        if let turn = record.turn { addTurn(turn, of: record) }
        guard record.succeeded else {
            let failure = record.failure?.rawValue ?? "unknown"
            failures[failure, default: 0] += 1
            if failureSamples[failure].map({ record.id < $0.id }) ?? true {
                failureSamples[failure] = (record.id, record.failureMessage ?? "")
            }
            return
        }
        succeeded += 1
        outputTokens += record.outputTokens
        promptTokens += record.promptTokens ?? 0
        if let cached = record.cachedPromptTokens {
            cachedPrompt = (cachedPrompt.cached + cached, cachedPrompt.total + (record.promptTokens ?? 0),
                            cachedPrompt.reports + 1)
        }
        if record.outputTokensEstimated { outputTokensEstimated = true }
        if !record.streamed { nonStreamed += 1 }
        if let v = record.ttftMs { ttft.add(v) }
        if let v = record.firstAnswerOffsetMs { firstAnswer.add(v) }
        if let n = record.reasoningTokens {
            reasoning = (reasoning.tokens + n, reasoning.reports + 1,
                         reasoning.counted + (record.reasoningTokensCounted == true ? 1 : 0))
        }
        let offsets = record.tokenEventOffsetsMs
        for i in offsets.indices.dropFirst() { itlEvent.add(offsets[i] - offsets[i - 1]) }
        if let gaps = record.tokenGapsMs { itlToken.add(contentsOf: gaps) } else { everyRequestHasTokenCounts = false }
        if let v = record.tpotMs { tpot.add(v) }
        e2e.add(record.e2eMs)
        if let exact = record.tokensPerEvent {
            for n in exact { tokensPerEvent.add(Double(n)) }
        } else if let mean = record.meanTokensPerEvent {
            tokensPerEvent.add(mean)
        }
        outputPerRequest.add(Double(record.outputTokens))
        if let n = record.promptTokens { promptPerRequest.add(Double(n)) }
        if let lag = record.sendLagMs {
            if let v = record.ttftMs { ttftFromIntended.add(lag + v) }
            e2eFromIntended.add(lag + record.e2eMs)
        }
        if let verdict = record.schemaVerdict {
            schemaCounts[verdict, default: 0] += 1
            if verdict != .valid {
                let text = "request \(record.id): \(verdict.rawValue)" + (record.schemaError.map { " — \($0)" } ?? "")
                schemaSamples.append((record.id, text))
                schemaSamples.sort { $0.id < $1.id }
                if schemaSamples.count > 5 { schemaSamples.removeLast() }
            }
        }
    }

    private mutating func addTurn(_ turn: Int, of record: RequestRecord) {
        var entry = perTurn[turn] ?? TurnAccumulator(ttft: SampleSet(exactLimit: exactLimit))
        entry.requests += 1
        if record.succeeded {
            entry.succeeded += 1
            entry.promptTokens += record.promptTokens ?? 0
            if let cached = record.cachedPromptTokens {
                entry.cached = (entry.cached.tokens + cached, entry.cached.prompt + (record.promptTokens ?? 0),
                                entry.cached.reports + 1)
            }
            if let v = record.ttftMs { entry.ttft.add(v) }
        }
        perTurn[turn] = entry
    }

    package mutating func add<S: Sequence>(contentsOf records: S) where S.Element == RequestRecord {
        for record in records { add(record) }
    }

    private var itlTokenAvailable: Bool { succeeded > 0 && everyRequestHasTokenCounts }

    package var summary: TargetSummary { summary(timeSeries: timeSeries) }

    /// The summary, given this builder's `timeSeries` (which takes a pass over every bucket to compute).
    package func summary(timeSeries points: [TimeSeriesPoint]) -> TargetSummary {
        let duration = requests == 0 ? 0 : max(0, lastEndMs - firstStartMs) / 1000
        func rate(_ x: Double) -> Double { duration > 0 ? x / duration : 0 }
        func mean(_ pair: (sum: Int, count: Int)) -> Double? {
            pair.count == 0 ? nil : Double(pair.sum) / Double(pair.count)
        }
        let checked = schemaCounts.values.reduce(0, +)
        return TargetSummary(
            target: target,
            requests: requests,
            succeeded: succeeded,
            failed: requests - succeeded,
            failures: failures,
            failureSamples: failureSamples.mapValues(\.message),
            durationS: duration,
            requestsPerSecond: rate(Double(succeeded)),
            outputTokensPerSecond: rate(Double(outputTokens)),
            totalTokensPerSecond: rate(Double(outputTokens + promptTokens)),
            outputTokens: outputTokens,
            promptTokens: promptTokens,
            outputTokensEstimated: outputTokensEstimated,
            nonStreamedResponses: nonStreamed,
            ttftMs: ttft.distribution,
            itlEventMs: itlEvent.distribution,
            itlTokenMs: itlTokenAvailable ? itlToken.distribution : nil,
            tpotMs: tpot.distribution,
            e2eMs: e2e.distribution,
            tokensPerEvent: tokensPerEvent.distribution,
            outputTokensPerRequest: outputPerRequest.distribution,
            promptTokensPerRequest: promptPerRequest.distribution,
            sendLagMs: sendLag.distribution,
            ttftFromIntendedMs: ttftFromIntended.distribution,
            e2eFromIntendedMs: e2eFromIntended.distribution,
            goodputRPS: rate(Double(good)),
            sloAttainment: requests == 0 ? 0 : Double(good) / Double(requests),
            slo: slo,
            schema: checked == 0 ? nil : SchemaSummary(
                checked: checked, valid: schemaCounts[.valid] ?? 0, notJSON: schemaCounts[.notJSON] ?? 0,
                truncated: schemaCounts[.truncated] ?? 0, violations: schemaCounts[.schemaViolation] ?? 0,
                samples: schemaSamples.map(\.text)),
            peakOutputTokensPerSecond: points.dropLast().map(\.outputTokensPerSecond).max()
                ?? points.last?.outputTokensPerSecond ?? 0,
            requestsPerReplica: perReplica,
            connectMs: connect.distribution,
            requestedPromptTokensMean: mean(requestedPrompt),
            requestedMaxTokensMean: mean(requestedMax),
            httpVersions: httpVersions.isEmpty ? nil : httpVersions,
            cachedPromptTokens: cachedPrompt.reports > 0 ? cachedPrompt.cached : nil,
            promptTokensWithCacheReport: cachedPrompt.reports > 0 ? cachedPrompt.total : nil,
            turns: perTurn.isEmpty ? nil : perTurn.keys.sorted().map { turn in
                let entry = perTurn[turn]!
                return TurnSummary(
                    turn: turn, requests: entry.requests, succeeded: entry.succeeded,
                    promptTokensMean: entry.succeeded > 0 ? Double(entry.promptTokens) / Double(entry.succeeded) : nil,
                    prefixCacheHitRate: entry.cached.reports > 0 && entry.cached.prompt > 0
                        ? Double(entry.cached.tokens) / Double(entry.cached.prompt) : nil,
                    ttftMs: entry.ttft.distribution)
            },
            timeToFirstAnswerMs: firstAnswer.distribution,
            reasoningTokens: reasoning.reports > 0 ? reasoning.tokens : nil,
            reasoningTokensCounted: reasoning.counted > 0 ? reasoning.counted : nil
        )
    }

    /// The result's histograms: ttft, itl_event, tpot and e2e always; itl_token when available; send_lag when
    /// the run was open-loop.
    package var histograms: [String: LatencyHistogram] {
        var result = ["ttft": ttft.histogram, "itl_event": itlEvent.histogram, "tpot": tpot.histogram,
                      "e2e": e2e.histogram]
        if itlTokenAvailable { result["itl_token"] = itlToken.histogram }
        if !sendLag.isEmpty { result["send_lag"] = sendLag.histogram }
        return result
    }

    package var timeSeries: [TimeSeriesPoint] { series.points }
}
