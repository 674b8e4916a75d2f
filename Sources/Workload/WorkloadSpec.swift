import JSON
import SeededRandom

/// A reproducible benchmark workload: what to send, how fast, and what counts as good.
/// Loaded from YAML or JSON (`WorkloadLoader`), overridden by command-line flags, and saved with every result.
package struct WorkloadSpec: Sendable, Equatable {
    package enum API: String, Sendable, CaseIterable { case chat, completions }

    package var name: String = "adhoc"
    package var api: API = .chat
    /// nil: the first model the server lists.
    package var model: String?
    package var prompt = PromptSpec()
    package var output = OutputSpec()
    package var load = LoadSpec()
    package var slo = SLOSpec()
    package var seed: UInt64 = 42
    package var timeouts = TimeoutSpec()
    /// Fields merged into every request body (e.g. vLLM sampling extras).
    package var extraBody: JSONObject?
    /// A trace to replay: its rows are the requests (times, prompt and output lengths, shared prefix blocks).
    package var trace: TraceSpec?
    /// Multi-turn conversations: each request is a turn of a session that resends the history so far.
    package var sessions: SessionSpec?

    package init() {}
}

/// Multi-turn conversations (`sessions:`). A session's turn t sends the system prompt, every earlier turn's user
/// message and answer, and a new user message of `prompt.tokens`; the next turn waits for the answer and a think
/// time. Closed loop: `load.concurrency` users, each running sessions back to back; open loop: sessions start at
/// `load.rate`. `load.requests` still counts requests (turns).
package struct SessionSpec: Sendable, Equatable {
    package enum History: String, Sendable, CaseIterable {
        /// Earlier answers are resent as the server wrote them (its prefix cache can reuse them).
        case responses
        /// Earlier answers are replaced by seeded words of the same token count (a content-blind replay).
        case synthetic
    }

    /// Turns per session, drawn per session.
    package var turns: TokenCount = .fixed(3)
    /// Seconds between an answer's end and the next turn's send, drawn per turn.
    package var thinkTime: Spread = .fixed(0)
    package var history: History = .responses
    /// Sessions to start at most (nil: until requests or duration end the run).
    package var count: Int?

    package init(turns: TokenCount = .fixed(3), thinkTime: Spread = .fixed(0), history: History = .responses,
                count: Int? = nil) {
        self.turns = turns
        self.thinkTime = thinkTime
        self.history = history
        self.count = count
    }

    /// The turns of session `session` (seeded: the same session has the same turns in every run and shard).
    package func turns(ofSession session: Int, seed: UInt64) -> Int {
        var generator = SplitMix64(seed: seed &+ 0x5E55_1011 &+ UInt64(session) &* 0x9E37_79B9)
        return max(1, turns.sample(using: &generator))
    }

    /// The think time before turn `turn` (2...) of session `session`, in seconds.
    package func thinkTimeS(session: Int, turn: Int, seed: UInt64) -> Double {
        var generator = SplitMix64(seed: seed &+ 0x7_1A4C &+ UInt64(session) &* 0x100_0000_01B3 &+ UInt64(turn))
        return max(0, thinkTime.sample(using: &generator))
    }
}

/// A draw of the standard normal distribution (Box–Muller).
private func standardNormal<G: RandomNumberGenerator>(using generator: inout G) -> Double {
    let u1 = max(Double.leastNonzeroMagnitude, Double.random(in: 0..<1, using: &generator))
    let u2 = Double.random(in: 0..<1, using: &generator)
    return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
}

/// A non-negative real quantity (seconds) drawn per use: fixed, normal (clamped to [min, max]) or uniform.
package enum Spread: Sendable, Equatable {
    case fixed(Double)
    case normal(mean: Double, stddev: Double, min: Double, max: Double)
    case uniform(Double, Double)

    package var mean: Double {
        switch self {
        case .fixed(let v): return v
        case .normal(let mean, _, _, _): return mean
        case .uniform(let a, let b): return (a + b) / 2
        }
    }

    package func sample<G: RandomNumberGenerator>(using generator: inout G) -> Double {
        switch self {
        case .fixed(let v):
            return v
        case .normal(let mean, let stddev, let lo, let hi):
            return Swift.min(hi, Swift.max(lo, mean + stddev * standardNormal(using: &generator)))
        case .uniform(let a, let b):
            return a == b ? a : Double.random(in: a..<b, using: &generator)
        }
    }
}

/// A count drawn per request: fixed, normal (clamped), or uniform.
package enum TokenCount: Sendable, Equatable {
    case fixed(Int)
    case normal(mean: Double, stddev: Double, min: Int, max: Int)
    case uniform(Int, Int)

    /// The nominal value (for display and calibration estimates).
    package var nominal: Int {
        switch self {
        case .fixed(let n): return n
        case .normal(let mean, _, _, _): return Int(mean.rounded())
        case .uniform(let a, let b): return (a + b) / 2
        }
    }

    /// The largest value a draw can take.
    package var upperBound: Int {
        switch self {
        case .fixed(let n): return n
        case .normal(_, _, _, let hi): return hi
        case .uniform(_, let b): return b
        }
    }

    package func sample<G: RandomNumberGenerator>(using generator: inout G) -> Int {
        switch self {
        case .fixed(let n):
            return n
        case .normal(let mean, let stddev, let lo, let hi):
            // Clamped to [min, max].
            return Swift.min(hi, Swift.max(lo, Int((mean + stddev * standardNormal(using: &generator)).rounded())))
        case .uniform(let a, let b):
            return Int.random(in: a...b, using: &generator)
        }
    }
}

package struct PromptSpec: Sendable, Equatable {
    package init() {}

    /// Synthetic prompt length in tokens (ignored with a dataset).
    package var tokens: TokenCount = .fixed(256)
    /// A system message (chat) or preamble (completions).
    package var system: String?
    /// Tokens of a prefix shared by every request, to exercise prefix caching.
    package var prefixTokens: Int = 0
    /// A JSONL file of {"prompt"|"messages", ["max_tokens"]} or a ShareGPT JSON file.
    package var dataset: String?
    /// Calibrate synthetic prompts against the server's /tokenize (default on; falls back to an estimate).
    package var calibrate = true
}

package struct OutputSpec: Sendable, Equatable {
    package init() {}

    package var maxTokens: TokenCount = .fixed(128)
    package var minTokens: Int?
    package var ignoreEOS: Bool?
    /// The JSON schema requested through `response_format: {type: json_schema}`.
    package var jsonSchema: JSONValue?
    /// Where the schema came from (a path), for the report.
    package var jsonSchemaSource: String?
    package var temperature: Double?
}

package struct LoadSpec: Sendable, Equatable {
    package init() {}

    package enum Arrival: String, Sendable, CaseIterable { case constant, poisson, gamma }

    package struct Ramp: Sendable, Equatable {
        package var from: Double
        package var to: Double
        package var durationS: Double

        package init(from: Double, to: Double, durationS: Double) {
            self.from = from
            self.to = to
            self.durationS = durationS
        }
    }

    package struct Stage: Sendable, Equatable {
        package var rate: Double?
        package var concurrency: Int?
        package var durationS: Double

        package init(rate: Double? = nil, concurrency: Int? = nil, durationS: Double) {
            self.rate = rate
            self.concurrency = concurrency
            self.durationS = durationS
        }
    }

    /// Closed loop: this many in flight. With `rate`, a ceiling on requests in flight.
    package var concurrency: Int?
    /// Open loop: requests per second.
    package var rate: Double?
    package var arrival: Arrival = .poisson
    /// Gamma shape: 1 is Poisson, below 1 burstier (CV = 1/sqrt(burstiness)).
    package var burstiness: Double = 1
    package var rampUp: Ramp?
    package var stages: [Stage] = []
    /// Stop after this many requests (warm-up included).
    package var requests: Int?
    /// Stop issuing after this many seconds.
    package var durationS: Double?
    package var warmupRequests: Int = 0
    package var warmupS: Double = 0
    /// Seconds at the end of a duration-bounded run whose requests are excluded from results.
    package var cooldownS: Double = 0

    package var isClosedLoop: Bool { rate == nil && rampUp == nil && stages.isEmpty }
}

package struct SLOSpec: Sendable, Equatable {
    package init() {}

    package var ttftMs: Double?
    package var itlMs: Double?
    package var tpotMs: Double?
    package var e2eMs: Double?
}

package struct TimeoutSpec: Sendable, Equatable {
    package init(connectS: Double = 10, firstTokenS: Double = 300, idleS: Double = 60, totalS: Double = 1800) {
        self.connectS = connectS
        self.firstTokenS = firstTokenS
        self.idleS = idleS
        self.totalS = totalS
    }

    package var connectS: Double = 10
    package var firstTokenS: Double = 300
    package var idleS: Double = 60
    package var totalS: Double = 1800
}

import Foundation
