/// The range of every number tpbench reads from a workload file, a deployment file or the command line.
///
/// Out of range is an error that names the field and the range (exit 2), never a value that traps or misbehaves
/// later (a timeout of 1e300 s once overflowed a timer conversion). README's "Ranges" table lists these.
package enum Limits {
    /// Prompt and output lengths in tokens (`prompt.tokens`, `output.max_tokens`, `--prompt-tokens`,
    /// `--max-tokens`): up to 2^20, the most completion tokens a response may report without a max_tokens.
    package static let tokens = 1...1_048_576
    /// `prompt.prefix_tokens`, `output.min_tokens`.
    package static let optionalTokens = 0...1_048_576
    /// Requests in flight (`load.concurrency`, `--concurrency`, a stage's concurrency).
    package static let concurrency = 1...100_000
    /// Requests in a run (`load.requests`, `--requests`).
    package static let requests = 1...100_000_000
    /// Turns of a multi-turn session (`sessions.turns`, `--turns`).
    package static let turns = 1...10_000
    /// Sessions of a run (`sessions.count`, `--sessions`).
    package static let sessions = 1...100_000_000
    /// Think time between a session's turns in seconds (`sessions.think_time`, `--think-time`): up to one day.
    package static let thinkTimeS = 0.0...86_400.0
    /// Warm-up requests (`load.warmup.requests`, `--warmup`).
    package static let warmupRequests = 0...100_000_000
    /// Open-loop rate in requests per second (`load.rate`, `--rate`, stages, ramps).
    package static let rate = 0.000_001...1_000_000.0
    /// Gamma arrivals' burstiness (`load.burstiness`): 1 is Poisson.
    package static let burstiness = 0.01...100.0
    /// Durations in seconds (`load.duration`, warm-up, cool-down, stages, ramps; `--duration`): up to 30 days.
    package static let durationS = 0.001...2_592_000.0
    /// Timeouts in seconds (`timeouts.*`, `--*-timeout`): up to one day.
    package static let timeoutS = 0.001...86_400.0
    /// SLO thresholds in milliseconds (`slo.*_ms`): up to one day.
    package static let sloMs = 0.001...86_400_000.0
    /// Sampling temperature (`output.temperature`).
    package static let temperature = 0.0...100.0
    /// New connections per second (`--connect-rate`).
    package static let connectRate = 0.001...10_000_000.0
    /// GPUs of a deployment (`tensor_parallel`, `gpus`).
    package static let gpus = 1...65_536
    /// Prices per hour (`cost_per_gpu_hour`, `cost_per_hour`).
    package static let costPerHour = 0.0...1_000_000.0

    /// "--rate must be in 0.000001...1000000, got 1e9": the message for a value outside `range`.
    package static func message<T: Comparable>(_ name: String, _ range: ClosedRange<T>, got value: String,
                                              unit: String = "") -> String {
        "\(name) must be in \(describe(range.lowerBound))...\(describe(range.upperBound))\(unit), got \(value)"
    }

    /// Throws (as `ValidationFailure`) unless `value` is finite and in `range`.
    package static func check(_ name: String, _ value: Double?, in range: ClosedRange<Double>, unit: String = "") throws {
        guard let value else { return }
        guard value.isFinite, range.contains(value) else {
            throw ValidationFailure(message(name, range, got: describe(value), unit: unit))
        }
    }

    /// Throws (as `ValidationFailure`) unless `value` is in `range`.
    package static func check(_ name: String, _ value: Int?, in range: ClosedRange<Int>) throws {
        guard let value else { return }
        guard range.contains(value) else { throw ValidationFailure(message(name, range, got: String(value))) }
    }

    package static func describe<T>(_ value: T) -> String {
        if let double = value as? Double {
            if double == double.rounded() && abs(double) < 1e15 { return String(Int(double)) }
            if double.isFinite && abs(double) >= 1e-6 && abs(double) < 1e15 {
                // "0.000001", not "1e-06": six decimals, trailing zeros dropped.
                var text = String(format: "%.6f", double)
                while text.hasSuffix("0") { text.removeLast() }
                if text.hasSuffix(".") { text.removeLast() }
                return text
            }
            return String(double)
        }
        return "\(value)"
    }
}

/// A command-line or file value outside its range; the command line turns it into exit 2 with this message.
package struct ValidationFailure: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }
}
