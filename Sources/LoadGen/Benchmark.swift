import Curl
import Foundation
import JSONSchema
import Metrics
import SeededRandom
import Workload

/// The outcome of one run against one target.
package struct RunOutput: Sendable {
    package var model: String
    /// Every request, including warm-up and cool-down ones (marked `excludedAs`); empty when the run was asked
    /// not to keep them (`keepRecords: false`), and then `aggregate` is the only summary in memory.
    package var records: [RequestRecord]
    /// Summary, histograms and time series gathered as requests finished.
    package var aggregate: RunAggregate
    /// Summary over the measured requests only.
    package var summary: TargetSummary
    package var loopStatistics: [MultiLoopStatistics]
    package var wallSeconds: Double
    package var calibration: CalibrationSummary
    package var calibrationNote: String { calibration.note }
    package var serverModels: [String]?
    /// Open-loop arrivals that were due but could not be sent before the end (concurrency ceiling).
    package var unsentArrivals: Int
    /// The run's epoch on `MonotonicClock` (records' `startMs` count from it), so server-side scrapes line up.
    package var epochNs: UInt64 = 0
    /// How a multi-turn run's sessions went (nil without sessions).
    package var sessionCounts: SessionCounts?
    /// With `--realtime`: why the client's threads could not run real-time (nil: they did, or it was not asked).
    package var realtimeProblem: String?
}

/// A target that cannot be used at all (exit code 3).
package struct TargetUnreachable: Error, Sendable, CustomStringConvertible {
    package let url: String
    package let reason: String
    package var description: String {
        "cannot reach \(url): \(reason). Is the server running and listening there? "
            + "(try: curl \(url)/v1/models)"
    }
}

extension Timeouts {
    package init(_ spec: TimeoutSpec) {
        self.init(connectMs: spec.connectS * 1000, firstTokenMs: spec.firstTokenS * 1000, idleMs: spec.idleS * 1000,
                  totalMs: spec.totalS * 1000)
    }

    /// What a probe (`/v1/models`, token counting) may take: the run's connect timeout, and at most 30 s in all
    /// (or the run's total, if that is shorter).
    package static func probe(_ run: Timeouts) -> Timeouts {
        let total = min(run.totalMs ?? 30_000, 30_000)
        return Timeouts(connectMs: run.connectMs.map { min($0, total) } ?? 10_000, firstTokenMs: nil,
                        idleMs: total, totalMs: total)
    }
}

package enum Benchmark {
    /// Probes the target, builds (and calibrates) the prompts, offers the workload's load, and summarises it.
    /// - Parameters:
    ///   - shard: the part of the workload this process offers (`--shard i/n`); request ids stay workload-wide.
    ///   - startAt: wall-clock time to start the load at (after probing and calibration), so shards start together.
    package static func run(workload: WorkloadSpec, target: Target, settings: RequestSettings, loopCount: Int = 1,
                           shard: Shard = .whole, startAt: Date? = nil, keepRecords: Bool = true,
                           strictCalibration: Bool = false,
                           onCalibration: @escaping @Sendable (Int, Int) -> Void = { _, _ in },
                           onRecord: @escaping @Sendable (RequestRecord) -> Void = { _ in },
                           onStart: @escaping @Sendable (LoadRunner) -> Void = { _ in }) async throws -> RunOutput {
        _ = ProcessResources.raiseOpenFileLimit()
        try checkHTTPVersion(urls: target.baseURLs, settings: settings)
        let wholePlan = LoadPlan(workload)
        let plan = wholePlan.sharded(shard)
        // This process opens only its shard's connections (the capacity error suggests sharding to get under it).
        try LoadRunner.checkCapacity(plan: plan)
        var settings = settings
        settings.timeouts = Timeouts(workload.timeouts)
        let loops = try (0..<max(1, loopCount)).map {
            try MultiLoop(index: $0, receiveTimes: settings.receiveTimes, realtime: settings.realtime)
        }
        defer { for loop in loops { loop.shutdown() } }

        let (model, serverModels) = try await resolveModel(workload.model, target: target, loop: loops[0],
                                                           settings: settings)
        let poolSize = workload.promptPoolSize(maxRequests: wholePlan.maxRequests)
        let pool = try await PromptBuilder.build(spec: workload, model: model, poolSize: poolSize,
                                                 base: target.baseURLs[0], loop: loops[0], settings: settings,
                                                 progress: onCalibration)
        // A load whose prompts are not the lengths asked for is not the experiment asked for.
        if strictCalibration && pool.calibration.missFraction > 0.01 { throw CalibrationMissed(summary: pool.calibration) }
        let schema = try workload.output.jsonSchema.map { try JSONSchema($0) }
        let wholeFactory = requestFactory(workload: workload, model: model, pool: pool, schema: schema,
                                          continuousUsage: settings.continuousUsage)
        let factory: @Sendable (Int) -> PreparedRequest = { wholeFactory(shard.globalIndex($0)) }
        let sessions = workload.sessions.map {
            sessionDriver($0, workload: workload, model: model, pool: pool, schema: schema,
                          continuousUsage: settings.continuousUsage, shard: shard)
        }
        let arrivals = plan.isClosedOnly ? nil
            : ArrivalGenerator(workload: workload, plan: wholePlan, shard: shard)
        let slo = SLO(ttftMs: workload.slo.ttftMs, itlMs: workload.slo.itlMs, tpotMs: workload.slo.tpotMs,
                      e2eMs: workload.slo.e2eMs)
        let aggregate = RunAggregate(target: target.name, slo: slo.isEmpty ? nil : slo)
        let runner = LoadRunner(target: target, plan: plan, arrivals: arrivals, settings: settings, loops: loops,
                                warmupRequests: shard.share(of: workload.load.warmupRequests),
                                warmupS: workload.load.warmupS,
                                cooldownS: workload.load.cooldownS, keepRecords: keepRecords, sessions: sessions,
                                makeRequest: factory,
                                onRecord: { record in
                                    // Workload-wide ids from the first write on, so shard logs merge.
                                    var record = record
                                    record.id = shard.globalIndex(record.id)
                                    record.session = record.session.map(shard.globalIndex)
                                    aggregate.add(record)
                                    onRecord(record)
                                })
        if let startAt, startAt.timeIntervalSinceNow > 0 {
            try await Task.sleep(nanoseconds: UInt64(startAt.timeIntervalSinceNow * 1e9))
        }
        onStart(runner)
        let started = MonotonicClock.now()
        let records = await runner.run(epochNs: started).map { record in
            var record = record
            record.id = shard.globalIndex(record.id)
            record.session = record.session.map(shard.globalIndex)
            return record
        }.sorted { $0.id < $1.id }
        let wall = Double(MonotonicClock.now() - started) / 1e9
        return RunOutput(model: model, records: records, aggregate: aggregate, summary: aggregate.builder.summary,
                         loopStatistics: loops.map(\.currentStatistics), wallSeconds: wall,
                         calibration: pool.calibration, serverModels: serverModels,
                         unsentArrivals: runner.unsentArrivals, epochNs: started,
                         sessionCounts: sessions == nil ? nil : runner.sessionCounts,
                         realtimeProblem: loops.lazy.compactMap(\.realtimeProblem).first ?? runner.realtimeProblem)
    }

    /// Refuses a cleartext HTTP/2 run this libcurl cannot carry (see `LibCurl.reusesPriorKnowledgeConnections`):
    /// every request after a connection's first would fail, and the run would measure libcurl's bug.
    static func checkHTTPVersion(urls: [String], settings: RequestSettings) throws {
        guard settings.httpVersion == .http2, !settings.freshConnectionPerRequest,
              !LibCurl.reusesPriorKnowledgeConnections,
              let cleartext = urls.first(where: { $0.lowercased().hasPrefix("http://") }) else { return }
        throw ValidationFailure(
            "--http2 on \(cleartext) needs cleartext HTTP/2 (prior knowledge), and libcurl \(LibCurl.version) fails "
                + "every request after the first on such a connection (curl issue 10634, fixed in 7.89.0). Use an "
                + "https:// URL (HTTP/2 by ALPN works), add --new-connection-per-request (one stream per "
                + "connection), or run with a libcurl of 7.89.0 or later")
    }

    /// Request i: prompt i of the pool (cycling), a seeded output length, and the workload's options.
    static func requestFactory(workload: WorkloadSpec, model: String, pool: PromptPool, schema: JSONSchema?,
                               continuousUsage: Bool) -> @Sendable (Int) -> PreparedRequest {
        let path = workload.api == .chat ? "/v1/chat/completions" : "/v1/completions"
        // A trace's session ids, numbered in order of first appearance, route its rows under --routing session.
        var sessionKeys: [String: Int] = [:]
        let rowKeys: [Int?] = (workload.trace?.rows ?? []).map { row in
            guard let session = row.session else { return nil }
            if let key = sessionKeys[session] { return key }
            sessionKeys[session] = sessionKeys.count
            return sessionKeys.count - 1
        }
        return { index in
            let slot = index % pool.count
            let maxTokens = pool.datasetMaxTokens[slot] ?? workload.maxTokens(ofRequest: index)
            let body = RequestBodyBuilder.body(
                api: workload.api, model: model, prompt: pool.prompts[slot], maxTokens: maxTokens,
                output: workload.output, continuousUsage: continuousUsage, extra: workload.extraBody)
            var prepared = PreparedRequest(body: body, requestedPromptTokens: pool.requestedTokens[slot],
                                           requestedMaxTokens: maxTokens, schema: schema, path: path)
            prepared.routingKey = index < rowKeys.count ? rowKeys[index] : nil
            return prepared
        }
    }

    /// Multi-turn sessions: turn t of session s sends the system prompt, the user messages of turns 1...t (pool
    /// prompts, calibrated to `prompt.tokens` as single prompts) and the answers to turns 1...t-1, as the server
    /// wrote them or as seeded words of their token counts. Sessions are numbered workload-wide (shards).
    static func sessionDriver(_ spec: SessionSpec, workload: WorkloadSpec, model: String, pool: PromptPool,
                              schema: JSONSchema?, continuousUsage: Bool, shard: Shard) -> SessionDriver {
        let path = workload.api == .chat ? "/v1/chat/completions" : "/v1/completions"
        let seed = workload.seed
        let words = pool.words ?? PromptSynthesizer.vocabulary
        /// The pool prompt whose user text is turn `turn`'s new message in session `session`: consecutive ones, so
        /// no two messages of a run repeat until the pool is used up.
        let stride = max(1, spec.turns.upperBound)
        @Sendable func slot(_ session: Int, _ turn: Int) -> Int { (session * stride + turn - 1) % pool.count }
        @Sendable func userText(_ prompt: PromptContent) -> String {
            switch prompt {
            case .text(_, let user): return user
            case .messages(let pairs): return pairs.last { $0.0 == "user" }?.1 ?? pairs.last?.1 ?? ""
            }
        }
        return SessionDriver(
            turns: { spec.turns(ofSession: shard.globalIndex($0), seed: seed) },
            thinkS: { spec.thinkTimeS(session: shard.globalIndex($0), turn: $1, seed: seed) },
            request: { local, turn, answers in
                let session = shard.globalIndex(local)
                var messages: [(String, String)] = workload.prompt.system.map { [("system", $0)] } ?? []
                for earlier in 1..<turn {
                    messages.append(("user", userText(pool.prompts[slot(session, earlier)])))
                    let answer = earlier - 1 < answers.count ? answers[earlier - 1] : SessionAnswer(text: "", tokens: 0)
                    switch spec.history {
                    case .responses:
                        messages.append(("assistant", answer.text))
                    case .synthetic:
                        let stream = 0x4000_0000_0000_0000 | UInt64(session) << 16 | UInt64(earlier & 0xFFFF)
                        messages.append(("assistant", PromptSynthesizer.words(
                            seed: seed, stream: stream, count: answer.tokens, vocabulary: words)))
                    }
                }
                let first = slot(session, turn)
                messages.append(("user", userText(pool.prompts[first])))
                // Completions continue the text: turn 1's prompt, then each answer and the next message.
                let prompt: PromptContent = workload.api == .chat ? .messages(messages) : .text(
                    system: nil,
                    user: ([pool.prompts[slot(session, 1)].promptText] + messages.drop { $0.0 != "user" }.dropFirst()
                        .map(\.1)).joined(separator: "\n\n"))
                var generator = SplitMix64(seed: seed &+ 0x7_0000 &+ UInt64(session) &* 0x1_0001 &+ UInt64(turn))
                let maxTokens = workload.output.maxTokens.sample(using: &generator)
                let body = RequestBodyBuilder.body(
                    api: workload.api, model: model, prompt: prompt, maxTokens: maxTokens,
                    output: workload.output, continuousUsage: continuousUsage, extra: workload.extraBody)
                // Turn 1 is a single prompt of the calibrated length; later ones add answers of unknown length.
                return PreparedRequest(body: body, requestedPromptTokens: turn == 1 ? pool.requestedTokens[first] : nil,
                                       requestedMaxTokens: maxTokens, schema: schema, path: path)
            },
            maxSessions: spec.count.map { shard.share(of: $0) },
            resendsAnswers: spec.history == .responses)
    }

    static func resolveModel(_ requested: String?, target: Target, loop: MultiLoop,
                             settings: RequestSettings) async throws -> (String, [String]?) {
        let base = target.baseURLs[0]
        let probeTimeouts = Timeouts.probe(settings.timeouts)
        do {
            let ids = try await HTTPFetch.modelIDs(base: base, loop: loop, headers: settings.headers,
                                                   insecure: settings.insecure, timeouts: probeTimeouts)
            if let requested { return (requested, ids) }
            guard let first = ids.first else {
                throw ProbeError(url: base + "/v1/models", problem: "lists no models; pass --model")
            }
            return (first, ids)
        } catch let error as TransferError {
            // With an explicit model the run goes ahead and records each request's failure by class;
            // without one there is nothing to send.
            if let requested { return (requested, nil) }
            throw TargetUnreachable(url: base, reason: error.description)
        } catch let error as ProbeError {
            if let requested { return (requested, nil) }
            throw error
        }
    }
}
