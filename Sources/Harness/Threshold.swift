import Foundation
import Metrics
import Workload

/// A pass/fail condition on a run's summary, as k6 thresholds are: `ttft_p95_ms>800` fails the run when TTFT p95
/// exceeds 800 ms. Given as `--fail-on "ttft_p95_ms>800,failure_pct>1"`.
package struct Threshold: Sendable, Equatable, CustomStringConvertible {
    package enum Operator: String, Sendable, CaseIterable {
        case greaterOrEqual = ">="
        case lessOrEqual = "<="
        case greater = ">"
        case less = "<"
    }

    package var metric: String
    package var comparison: Operator
    package var limit: Double

    package var description: String { "\(metric)\(comparison.rawValue)\(limit)" }

    /// Metric names a threshold can use: every `MetricCatalog` figure a summary holds by itself.
    package static let metricNames: [String] = MetricCatalog.all.filter(\.fromSummaryAlone).map(\.key)

    /// Names of earlier versions, whose values were fractions where the same quantity elsewhere was a percentage.
    static let renamedMetrics = ["error_rate": "failure_pct", "failure_rate": "failure_pct",
                                 "schema_valid_rate": "schema_valid_pct", "slo_attainment": "slo_attainment_pct"]

    package struct ParseError: Error, Sendable, CustomStringConvertible {
        package let text: String
        package let problem: String
        package var description: String {
            "--fail-on '\(text)': \(problem); expected METRIC>VALUE pairs separated by commas, e.g. "
                + "\"ttft_p95_ms>800,error_rate>0.01\""
        }
    }

    /// Parses a comma-separated list.
    package static func parseList(_ text: String) throws -> [Threshold] {
        try text.split(separator: ",").map { try parse(String($0).trimmingCharacters(in: .whitespaces)) }
    }

    package static func parse(_ text: String) throws -> Threshold {
        for comparison in Operator.allCases {
            guard let range = text.range(of: comparison.rawValue) else { continue }
            let metric = String(text[..<range.lowerBound]).trimmingCharacters(in: .whitespaces)
            let value = String(text[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            if let renamed = renamedMetrics[metric] {
                throw ParseError(text: text, problem: "'\(metric)' (a fraction) is now '\(renamed)' (percent), the "
                                 + "unit of the same name in compare.csv and the reports: \(metric)\(comparison.rawValue)0.01 "
                                 + "is \(renamed)\(comparison.rawValue)1")
            }
            guard metricNames.contains(metric) else {
                let guess = suggestion(for: metric, among: metricNames).map { " (did you mean '\($0)'?)" } ?? ""
                throw ParseError(text: text, problem: "unknown metric '\(metric)'\(guess)")
            }
            guard let limit = Double(value), limit.isFinite else {
                throw ParseError(text: text, problem: "'\(value)' is not a number")
            }
            return Threshold(metric: metric, comparison: comparison, limit: limit)
        }
        throw ParseError(text: text, problem: "no comparison operator (>, >=, <, <=)")
    }

    /// The summary's value of this threshold's metric (nil when unavailable).
    package func value(in s: TargetSummary) -> Double? {
        MetricCatalog.named(metric)?.value(in: s)
    }

    /// A message if the threshold is crossed (a missing value counts as crossed: it cannot be shown to pass).
    package func violation(in s: TargetSummary) -> String? {
        guard let v = value(in: s) else { return "\(description): \(metric) is unavailable for \(s.target)" }
        let crossed: Bool
        switch comparison {
        case .greater: crossed = v > limit
        case .greaterOrEqual: crossed = v >= limit
        case .less: crossed = v < limit
        case .lessOrEqual: crossed = v <= limit
        }
        return crossed ? "\(description): \(s.target) has \(metric) = \(v)" : nil
    }
}
