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

    public var errorRate: Double { requests == 0 ? 0 : Double(failed) / Double(requests) }
}

public enum Aggregator {
    /// Summarises one target's records. Latency percentiles are over successful requests only; failures are
    /// counted by class and stay in the denominators of rates.
    public static func summarize(target: String, records: [RequestRecord], slo: SLO? = nil) -> TargetSummary {
        let ok = records.filter(\.succeeded)
        var failures: [String: Int] = [:]
        var samples: [String: String] = [:]
        for record in records {
            guard let failure = record.failure else { continue }
            failures[failure.rawValue, default: 0] += 1
            if samples[failure.rawValue] == nil { samples[failure.rawValue] = record.failureMessage ?? "" }
        }
        let firstStart = records.map(\.startMs).min() ?? 0
        let lastEnd = records.map(\.endMs).max() ?? 0
        let duration = max(0, lastEnd - firstStart) / 1000
        let outputTokens = ok.reduce(0) { $0 + $1.outputTokens }
        let promptTokens = ok.reduce(0) { $0 + ($1.promptTokens ?? 0) }
        func rate(_ x: Double) -> Double { duration > 0 ? x / duration : 0 }

        var tokensPerEvent: [Double] = []
        for record in ok {
            if let exact = record.tokensPerEvent {
                tokensPerEvent.append(contentsOf: exact.map(Double.init))
            } else if let mean = record.meanTokensPerEvent {
                tokensPerEvent.append(mean)
            }
        }
        let tokenGaps = ok.map(\.tokenGapsMs)
        let itlToken: Distribution? = ok.isEmpty || tokenGaps.contains(where: { $0 == nil })
            ? nil : Distribution(tokenGaps.flatMap { $0 ?? [] })

        let goodRequests = records.filter { (slo ?? SLO()).isMet(by: $0) }.count
        var perReplica: [String: Int] = [:]
        for record in records { perReplica[record.replica, default: 0] += 1 }
        let series = TimeSeries.compute(records: records)

        return TargetSummary(
            target: target,
            requests: records.count,
            succeeded: ok.count,
            failed: records.count - ok.count,
            failures: failures,
            failureSamples: samples,
            durationS: duration,
            requestsPerSecond: rate(Double(ok.count)),
            outputTokensPerSecond: rate(Double(outputTokens)),
            totalTokensPerSecond: rate(Double(outputTokens + promptTokens)),
            outputTokens: outputTokens,
            promptTokens: promptTokens,
            outputTokensEstimated: ok.contains(where: \.outputTokensEstimated),
            nonStreamedResponses: ok.filter { !$0.streamed }.count,
            ttftMs: Distribution(ok.compactMap(\.ttftMs)),
            itlEventMs: Distribution(ok.flatMap(\.eventGapsMs)),
            itlTokenMs: itlToken,
            tpotMs: Distribution(ok.compactMap(\.tpotMs)),
            e2eMs: Distribution(ok.map(\.e2eMs)),
            tokensPerEvent: Distribution(tokensPerEvent),
            outputTokensPerRequest: Distribution(ok.map { Double($0.outputTokens) }),
            promptTokensPerRequest: Distribution(ok.compactMap { $0.promptTokens.map(Double.init) }),
            sendLagMs: Distribution(records.compactMap(\.sendLagMs)),
            ttftFromIntendedMs: Distribution(ok.compactMap { r in
                r.ttftMs.flatMap { ttft in r.sendLagMs.map { $0 + ttft } }
            }),
            e2eFromIntendedMs: Distribution(ok.compactMap { r in r.sendLagMs.map { $0 + r.e2eMs } }),
            goodputRPS: rate(Double(goodRequests)),
            sloAttainment: records.isEmpty ? 0 : Double(goodRequests) / Double(records.count),
            slo: slo,
            schema: schemaSummary(ok),
            peakOutputTokensPerSecond: series.dropLast().map(\.outputTokensPerSecond).max()
                ?? series.last?.outputTokensPerSecond ?? 0,
            requestsPerReplica: perReplica,
            connectMs: Distribution(records.filter { $0.reusedConnection == false }.compactMap(\.connectMs))
        )
    }

    static func schemaSummary(_ ok: [RequestRecord]) -> SchemaSummary? {
        let checked = ok.compactMap { record in record.schemaVerdict.map { (record, $0) } }
        guard !checked.isEmpty else { return nil }
        func count(_ v: SchemaVerdict) -> Int { checked.filter { $0.1 == v }.count }
        let samples = checked.filter { $0.1 != .valid }.prefix(5).map { "request \($0.0.id): \($0.1.rawValue)"
            + ($0.0.schemaError.map { " — \($0)" } ?? "") }
        return SchemaSummary(checked: checked.count, valid: count(.valid), notJSON: count(.notJSON),
                             truncated: count(.truncated), violations: count(.schemaViolation), samples: Array(samples))
    }
}
