import Foundation
import Metrics

/// Renders a target summary as the fixed-width table `tpbench run` prints.
package enum SummaryTable {
    package static func render(_ s: TargetSummary) -> String {
        var lines: [String] = []
        lines.append("target \(s.target): \(s.requests) requests, \(s.succeeded) ok, \(s.failed) failed"
                     + " in \(format(s.durationS, digits: 2)) s")
        let header = ["metric", "p50", "p90", "p95", "p99", "max", "mean"]
        var rows: [[String]] = []
        func add(_ name: String, _ d: Distribution?, digits: Int = 1) {
            guard let d else {
                rows.append([name, "n/a", "", "", "", "", ""])
                return
            }
            rows.append([name] + [d.p50, d.p90, d.p95, d.p99, d.max, d.mean].map { format($0, digits: digits) })
        }
        add("TTFT (ms)", s.ttftMs)
        add("ITL per event (ms)", s.itlEventMs)
        add("ITL per token (ms)", s.itlTokenMs)
        add("TPOT (ms)", s.tpotMs)
        add("E2E (ms)", s.e2eMs)
        add("tokens per event", s.tokensPerEvent, digits: 2)
        add("output tokens", s.outputTokensPerRequest, digits: 0)
        add("prompt tokens", s.promptTokensPerRequest, digits: 0)
        if s.sendLagMs != nil {
            add("send lag (ms)", s.sendLagMs)
            add("TTFT from intended (ms)", s.ttftFromIntendedMs)
            add("E2E from intended (ms)", s.e2eFromIntendedMs)
        }
        lines.append(contentsOf: table(header: header, rows: rows))
        lines.append("throughput: \(format(s.requestsPerSecond, digits: 2)) req/s, "
                     + "\(format(s.outputTokensPerSecond, digits: 1)) output tok/s, "
                     + "\(format(s.totalTokensPerSecond, digits: 1)) total tok/s"
                     + (s.outputTokensEstimated ? " (output tokens estimated from events: no usage from server)" : ""))
        if let rate = s.prefixCacheHitRate, let cached = s.cachedPromptTokens, let total = s.promptTokensWithCacheReport {
            lines.append("prefix cache: \(cached) of \(total) prompt tokens cached (\(format(rate * 100, digits: 1)) %, "
                         + "usage.prompt_tokens_details)")
        }
        if let answer = s.timeToFirstAnswerMs {
            lines.append("reasoning: TTFT counts the first reasoning token; first answer token p50 "
                         + "\(format(answer.p50, digits: 1)) ms, p99 \(format(answer.p99, digits: 1)) ms"
                         + (s.reasoningTokens.map { "; \($0) of \(s.outputTokens) output tokens were reasoning" } ?? "")
                         + (s.reasoningTokensCounted.map { " (\($0) requests counted from the stream: usage said 0)" } ?? ""))
        }
        if let turns = s.turns, let first = turns.first, let last = turns.last, turns.count > 1 {
            func describe(_ turn: TurnSummary) -> String {
                "turn \(turn.turn): \(turn.promptTokensMean.map { format($0, digits: 0) } ?? "n/a") prompt tokens, "
                    + "TTFT p50 \(turn.ttftMs.map { format($0.p50, digits: 1) } ?? "n/a") ms"
                    + (turn.prefixCacheHitRate.map { ", \(format($0 * 100, digits: 1)) % cached" } ?? "")
            }
            lines.append("sessions: \(s.sessions ?? 0); \(describe(first)); \(describe(last))")
        }
        if s.nonStreamedResponses > 0 {
            lines.append("note: \(s.nonStreamedResponses) responses were not streamed; their TTFT equals E2E")
        }
        if s.itlTokenMs == nil && s.succeeded > 0 {
            lines.append("note: ITL per token unavailable (server sent no per-chunk usage; see continuous_usage_stats)")
        }
        if s.failures.isEmpty {
            lines.append("failures: none")
        } else {
            lines.append("failures:")
            for (name, count) in s.failures.sorted(by: { $0.key < $1.key }) {
                let sample = s.failureSamples[name].map { " — e.g. \($0.prefix(160))" } ?? ""
                lines.append("  \(name): \(count)\(sample)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Left-aligned first column, right-aligned numbers.
    package static func table(header: [String], rows: [[String]]) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
                return index == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        var out = [line(header)]
        out.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        out.append(contentsOf: rows.map(line))
        return out
    }

    package static func format(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "n/a" }
        return String(format: "%.\(digits)f", value)
    }
}
