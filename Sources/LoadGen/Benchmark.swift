import Curl
import Foundation
import Metrics

/// What `tpbench run` asks for, independent of how it was parsed.
public struct RunConfiguration: Sendable {
    public var target: Target
    /// Model id; nil means the first id `GET /v1/models` lists.
    public var model: String?
    public var concurrency: Int
    public var requests: Int
    public var promptTokens: Int
    public var maxTokens: Int?
    public var extraBody: [String: any Sendable]
    public var seed: UInt64
    public var engines: Int
    public var settings: RequestSettings

    public init(target: Target, model: String? = nil, concurrency: Int = 10, requests: Int = 100,
                promptTokens: Int = 256, maxTokens: Int? = 128, extraBody: [String: any Sendable] = [:],
                seed: UInt64 = 42, engines: Int = 1, settings: RequestSettings = RequestSettings()) {
        self.target = target
        self.model = model
        self.concurrency = concurrency
        self.requests = requests
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
        self.extraBody = extraBody
        self.seed = seed
        self.engines = engines
        self.settings = settings
    }
}

/// The outcome of one run against one target.
public struct RunOutput: Sendable {
    public var model: String
    public var records: [RequestRecord]
    public var summary: TargetSummary
    public var engineStatistics: [EngineStatistics]
    public var wallSeconds: Double
}

/// Failures that stop a run before it starts (exit code 3 territory: the target is not usable).
public struct TargetUnreachable: Error, Sendable, CustomStringConvertible {
    public let url: String
    public let reason: String
    public var description: String {
        "cannot reach \(url): \(reason). Is the server running and listening there? "
            + "(try: curl \(url)/v1/models)"
    }
}

public enum Benchmark {
    /// Probes the target, prepares every request, runs the closed loop and summarises it.
    public static func run(_ config: RunConfiguration,
                           onRecord: @escaping @Sendable (RequestRecord) -> Void = { _ in }) async throws -> RunOutput {
        _ = ProcessResources.raiseOpenFileLimit()
        let engines = try (0..<max(1, config.engines)).map { try Engine(index: $0) }
        defer { for engine in engines { engine.shutdown() } }

        let model = try await resolveModel(config, engine: engines[0])
        var synthesizer = PromptSynthesizer(seed: config.seed)
        let prepared = (0..<config.requests).map { _ in
            PreparedRequest(
                body: RequestBodyBuilder.body(api: config.settings.api, model: model,
                                              prompt: synthesizer.prompt(tokens: config.promptTokens),
                                              maxTokens: config.maxTokens,
                                              continuousUsage: config.settings.continuousUsage,
                                              extra: config.extraBody),
                requestedPromptTokens: config.promptTokens, requestedMaxTokens: config.maxTokens)
        }
        let runner = ClosedLoopRunner(target: config.target, concurrency: config.concurrency, requests: prepared,
                                      settings: config.settings, engines: engines, onRecord: onRecord)
        let started = MonotonicClock.now()
        let records = await runner.run(epochNs: started).sorted { $0.id < $1.id }
        let wall = Double(MonotonicClock.now() - started) / 1e9
        return RunOutput(model: model, records: records,
                         summary: Aggregator.summarize(target: config.target.name, records: records),
                         engineStatistics: engines.map(\.currentStatistics), wallSeconds: wall)
    }

    static func resolveModel(_ config: RunConfiguration, engine: Engine) async throws -> String {
        let base = config.target.baseURLs[0]
        let probeTimeouts = Timeouts(connectMs: 5_000, firstTokenMs: nil, idleMs: 10_000, totalMs: 15_000)
        do {
            let ids = try await HTTPFetch.modelIDs(base: base, engine: engine, headers: config.settings.headers,
                                                   insecure: config.settings.insecure, timeouts: probeTimeouts)
            if let model = config.model { return model }
            guard let first = ids.first else {
                throw ProbeError(url: base + "/v1/models", problem: "lists no models; pass --model")
            }
            return first
        } catch let error as TransferError {
            // With an explicit model the run goes ahead and records each request's failure by class;
            // without one there is nothing to send.
            if let model = config.model { return model }
            throw TargetUnreachable(url: base, reason: error.description)
        } catch let error as ProbeError {
            // A server without /v1/models still works when the model is given.
            if let model = config.model { return model }
            throw error
        }
    }
}
