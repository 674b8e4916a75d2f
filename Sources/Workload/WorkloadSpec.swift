import JSONSchema

/// A reproducible benchmark workload: what to send, how fast, and what counts as good.
/// Loaded from YAML or JSON (`WorkloadLoader`), overridden by command-line flags, and saved with every result.
public struct WorkloadSpec: Sendable, Equatable {
    public enum API: String, Sendable, CaseIterable { case chat, completions }

    public var name: String = "adhoc"
    public var api: API = .chat
    /// nil: the first model the server lists.
    public var model: String?
    public var prompt = PromptSpec()
    public var output = OutputSpec()
    public var load = LoadSpec()
    public var slo = SLOSpec()
    public var seed: UInt64 = 42
    public var timeouts = TimeoutSpec()
    /// Fields merged into every request body (e.g. vLLM sampling extras).
    public var extraBody: JSONObject?
    /// A trace to replay: its rows are the requests (times, prompt and output lengths, shared prefix blocks).
    public var trace: TraceSpec?

    public init() {}
}

/// A count drawn per request: fixed, normal (clamped), or uniform.
public enum TokenCount: Sendable, Equatable {
    case fixed(Int)
    case normal(mean: Double, stddev: Double, min: Int, max: Int)
    case uniform(Int, Int)

    /// The nominal value (for display and calibration estimates).
    public var nominal: Int {
        switch self {
        case .fixed(let n): return n
        case .normal(let mean, _, _, _): return Int(mean.rounded())
        case .uniform(let a, let b): return (a + b) / 2
        }
    }

    public func sample<G: RandomNumberGenerator>(using generator: inout G) -> Int {
        switch self {
        case .fixed(let n):
            return n
        case .normal(let mean, let stddev, let lo, let hi):
            // Box–Muller; clamped to [min, max].
            let u1 = max(Double.leastNonzeroMagnitude, Double.random(in: 0..<1, using: &generator))
            let u2 = Double.random(in: 0..<1, using: &generator)
            let z = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            return Swift.min(hi, Swift.max(lo, Int((mean + stddev * z).rounded())))
        case .uniform(let a, let b):
            return Int.random(in: a...b, using: &generator)
        }
    }
}

public struct PromptSpec: Sendable, Equatable {
    public init() {}

    /// Synthetic prompt length in tokens (ignored with a dataset).
    public var tokens: TokenCount = .fixed(256)
    /// A system message (chat) or preamble (completions).
    public var system: String?
    /// Tokens of a prefix shared by every request, to exercise prefix caching.
    public var prefixTokens: Int = 0
    /// A JSONL file of {"prompt"|"messages", ["max_tokens"]} or a ShareGPT JSON file.
    public var dataset: String?
    /// Calibrate synthetic prompts against the server's /tokenize (default on; falls back to an estimate).
    public var calibrate = true
}

public struct OutputSpec: Sendable, Equatable {
    public init() {}

    public var maxTokens: TokenCount = .fixed(128)
    public var minTokens: Int?
    public var ignoreEOS: Bool?
    /// The JSON schema requested through `response_format: {type: json_schema}`.
    public var jsonSchema: JSONValue?
    /// Where the schema came from (a path), for the report.
    public var jsonSchemaSource: String?
    public var temperature: Double?
}

public struct LoadSpec: Sendable, Equatable {
    public init() {}

    public enum Arrival: String, Sendable, CaseIterable { case constant, poisson, gamma }

    public struct Ramp: Sendable, Equatable {
        public var from: Double
        public var to: Double
        public var durationS: Double

        public init(from: Double, to: Double, durationS: Double) {
            self.from = from
            self.to = to
            self.durationS = durationS
        }
    }

    public struct Stage: Sendable, Equatable {
        public var rate: Double?
        public var concurrency: Int?
        public var durationS: Double

        public init(rate: Double? = nil, concurrency: Int? = nil, durationS: Double) {
            self.rate = rate
            self.concurrency = concurrency
            self.durationS = durationS
        }
    }

    /// Closed loop: this many in flight. With `rate`, a ceiling on requests in flight.
    public var concurrency: Int?
    /// Open loop: requests per second.
    public var rate: Double?
    public var arrival: Arrival = .poisson
    /// Gamma shape: 1 is Poisson, below 1 burstier (CV = 1/sqrt(burstiness)).
    public var burstiness: Double = 1
    public var rampUp: Ramp?
    public var stages: [Stage] = []
    /// Stop after this many requests (warm-up included).
    public var requests: Int?
    /// Stop issuing after this many seconds.
    public var durationS: Double?
    public var warmupRequests: Int = 0
    public var warmupS: Double = 0
    /// Seconds at the end of a duration-bounded run whose requests are excluded from results.
    public var cooldownS: Double = 0

    public var isClosedLoop: Bool { rate == nil && rampUp == nil && stages.isEmpty }
}

public struct SLOSpec: Sendable, Equatable {
    public init() {}

    public var ttftMs: Double?
    public var itlMs: Double?
    public var tpotMs: Double?
    public var e2eMs: Double?
}

public struct TimeoutSpec: Sendable, Equatable {
    public init(connectS: Double = 10, firstTokenS: Double = 300, idleS: Double = 60, totalS: Double = 1800) {
        self.connectS = connectS
        self.firstTokenS = firstTokenS
        self.idleS = idleS
        self.totalS = totalS
    }

    public var connectS: Double = 10
    public var firstTokenS: Double = 300
    public var idleS: Double = 60
    public var totalS: Double = 1800
}

import Foundation
