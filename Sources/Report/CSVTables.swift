import Foundation
import Metrics

/// `requests.csv` and `summary.csv`. Times are written in ms with three decimals (µs, the clock resolution the
/// histograms keep); a missing value is an empty cell, never "nan".
package enum CSVTables {
    package static let requestColumns = [
        "id", "target", "replica", "intended_start_ms", "start_ms", "ttft_ms", "e2e_ms", "prompt_tokens",
        "output_tokens", "mean_itl_ms", "max_itl_ms", "tokens_per_event", "status", "failure_class", "http_status",
        "schema_verdict", "cached_prompt_tokens", "session", "turn", "first_answer_ms", "reasoning_tokens",
    ]

    package static let summaryColumns = [
        "target", "metric", "unit", "count", "p50", "p90", "p95", "p99", "p99_9", "max", "mean", "stddev",
    ]

    /// One row per request, in id order.
    package static func requests(_ records: [RequestRecord]) -> String {
        var out = row(requestColumns)
        for r in records.sorted(by: { ($0.target, $0.id) < ($1.target, $1.id) }) { out += requestRow(r) }
        return out
    }

    static func requestRow(_ r: RequestRecord) -> String {
        row([
            String(r.id), r.target, r.replica, number(r.intendedStartMs), number(r.startMs), number(r.ttftMs),
            number(r.e2eMs), r.promptTokens.map(String.init) ?? "", String(r.outputTokens),
            number(r.meanEventGapMs), number(r.maxEventGapMs), number(r.meanTokensPerEvent),
            r.succeeded ? "ok" : "failed", r.failure?.rawValue ?? "", String(r.httpStatus),
            r.schemaVerdict?.rawValue ?? "", r.cachedPromptTokens.map(String.init) ?? "",
            r.session.map(String.init) ?? "", r.turn.map(String.init) ?? "", number(r.firstAnswerOffsetMs),
            r.reasoningTokens.map(String.init) ?? "",
        ])
    }

    /// Requests a `requests.csv` written from a request log sorts by id; a longer log is converted in file
    /// (completion) order, one record in memory at a time.
    package static let requestsSortLimit = 200_000

    /// `requests.csv` from a run's `requests.jsonl` without holding the records: rows in id order up to
    /// `sortLimit` requests, in completion order beyond (so a day-long soak still ends in flat memory).
    static func requests(fromLog log: URL, sortLimit: Int = requestsSortLimit,
                         append: (String) throws -> Void) throws {
        let lines = try RequestLog.lineCount(in: log)
        try append(row(requestColumns))
        if lines <= sortLimit {
            var rows: [(target: String, id: Int, row: String)] = []
            rows.reserveCapacity(lines)
            try RequestLog.forEachRecord(in: log) { rows.append(($0.target, $0.id, requestRow($0))) }
            rows.sort { ($0.target, $0.id) < ($1.target, $1.id) }
            for entry in rows { try append(entry.row) }
        } else {
            try RequestLog.forEachRecord(in: log) { try append(requestRow($0)) }
        }
    }

    /// The distributions of a target summary with their metric names and units, in report order
    /// (`MetricCatalog.distributions`): `summary.csv` and report.md list metrics from here.
    package static func metrics(of s: TargetSummary) -> [(metric: String, unit: String, distribution: Distribution?)] {
        MetricCatalog.distributions.filter { $0.listed(s) }.map { (metric: $0.name, unit: $0.unit, distribution: $0.read(s)) }
    }

    /// One row per target × metric; an unavailable metric keeps its row with count 0 and empty cells.
    package static func summary(_ result: RunResult) -> String {
        var out = row(summaryColumns)
        for s in result.summaries {
            for (metric, unit, d) in metrics(of: s) {
                let values = d.map { $0.percentileValues.map { number($0) } }
                    ?? Array(repeating: "", count: Distribution.percentileNames.count)
                out += row([s.target, metric, unit, String(d?.count ?? 0)] + values)
            }
        }
        return out
    }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        let text = String(format: "%.3f", value)
        return text == "-0.000" ? "0.000" : text
    }

    /// RFC 4180: quote a field holding a comma, quote, CR or LF, doubling inner quotes; CRLF line ends.
    static func row(_ fields: [String]) -> String {
        fields.map { field in
            guard field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",") + "\r\n"
    }
}
