import Foundation
import Metrics

/// `report.md`: a pure function of the run result.
package enum MarkdownReport {
    /// Renders the report; `chartFiles` are paths relative to the report (e.g. `charts/ttft-cdf.svg`) with titles.
    package static func render(result: RunResult, charts: [(path: String, title: String)]) -> String {
        var out = headline(result)
        out += summarySection(result)
        out += tokensSection(result)
        out += failuresSection(result)
        out += schemaSection(result)
        out += clientHealthSection(result)
        out += turnsSection(result)
        out += replicasSection(result)
        out += serverSideSection(result, charts: charts)
        out += gpuSection(result)
        if !charts.isEmpty {
            out += "## Charts\n\n"
            for chart in charts { out += "![\(chart.title)](\(chart.path))\n\n" }
        }
        out += notesSection(result)
        out += manifestSection(result)
        out += MetricDefinitions.markdown
        return out
    }

    static func headline(_ result: RunResult) -> String {
        let requests = result.summaries.reduce(0) { $0 + $1.requests }
        let failed = result.summaries.reduce(0) { $0 + $1.failed }
        let targets = result.targets.isEmpty ? result.summaries.map(\.target) : result.targets.map(\.name)
        var out = "# tpbench report: \(result.workloadName)\n\n"
        out += "- **Workload:** \(Format.code(result.workloadName))\n"
        out += "- **Targets:** \(targets.map(Format.code).joined(separator: ", "))\n"
        out += "- **Started:** \(result.startedAt)\n"
        out += "- **Duration:** \(Format.duration(result.wallSeconds)) wall clock\n"
        out += "- **Requests:** \(requests) (\(requests - failed) succeeded, \(failed) failed)\n"
        if case .object(let workload) = result.workload, case .object(let trace)? = workload["trace"],
           case .string(let file)? = trace["file"] {
            // A replay: which trace, how much of it, and how much prefix reuse it carries.
            func number(_ key: String) -> Double? { if case .number(let n)? = trace[key] { return n } else { return nil } }
            let rows = number("requests").map { String(Int($0)) } ?? "?"
            let last = number("last_arrival_s").map { Format.duration($0) } ?? "?"
            let scale = number("time_scale") ?? 1
            let share = number("repeated_block_share").map { Format.number($0 * 100, digits: 1) } ?? "?"
            out += "- **Trace:** \(Format.code(URL(fileURLWithPath: file).lastPathComponent)), \(rows) requests over "
                + "\(last)\(scale == 1 ? "" : " (time × \(Format.number(scale, digits: 3)))"), \(share) % of prompt "
                + "tokens in prefix blocks an earlier request sent\n"
        }
        out += "- **Run:** \(Format.code(result.runID))\n\n"
        if let warnings = result.clientHealth?.warnings, !warnings.isEmpty {
            out += "> **Warning:** the client was under strain; see [Client health](#client-health) before trusting "
                + "these numbers.\n\n"
        }
        return out
    }

    static func summarySection(_ result: RunResult) -> String {
        var out = "## Summary\n\nLatency percentiles are over successful requests; failures count in the rates.\n\n"
        for s in result.summaries {
            out += "### Target \(Format.code(s.target))\n\n"
            var latency = MarkdownTable(["metric", "p50", "p90", "p95", "p99", "max", "mean"])
            func add(_ label: String, _ d: Distribution?, digits: Int? = nil) {
                guard let d else {
                    latency.add([label, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"])
                    return
                }
                let values = [d.p50, d.p90, d.p95, d.p99, d.max, d.mean]
                latency.add([label] + values.map { value in
                    digits.map { Format.number(value, digits: $0) } ?? Format.ms(value)
                })
            }
            add("TTFT (ms) [^ttft]", s.ttftMs)
            if s.timeToFirstAnswerMs != nil { add("time to first answer token (ms) [^ttfa]", s.timeToFirstAnswerMs) }
            add("ITL per event (ms) [^itl-event]", s.itlEventMs)
            add("ITL per token (ms) [^itl-token]", s.itlTokenMs)
            add("TPOT (ms) [^tpot]", s.tpotMs)
            add("E2E (ms) [^e2e]", s.e2eMs)
            add("tokens per event (tokens) [^tokens-per-event]", s.tokensPerEvent, digits: 2)
            if s.sendLagMs != nil {
                add("send lag (ms) [^intended]", s.sendLagMs)
                add("TTFT from intended start (ms) [^intended]", s.ttftFromIntendedMs)
                add("E2E from intended start (ms) [^intended]", s.e2eFromIntendedMs)
            }
            out += latency.render() + "\n"
            let estimated = CSVTables.metrics(of: s).filter { $0.distribution?.fromHistogram == true }.map(\.metric)
            if !estimated.isEmpty {
                out += "Percentiles of \(estimated.map(Format.code).joined(separator: ", ")) come from an HdrHistogram "
                    + "(3 significant digits): each had more than \(SampleSet.defaultExactLimit) values, more than are "
                    + "kept exactly. Count, mean, stddev and max stay exact.\n\n"
            }

            var rates = MarkdownTable(["measure", "value"])
            rates.add(["requests", "\(s.requests) (\(s.succeeded) ok, \(s.failed) failed)"])
            rates.add(["measured window [^throughput]", Format.number(s.durationS, digits: 2) + " s"])
            rates.add(["throughput [^throughput]", Format.number(s.requestsPerSecond, digits: 2) + " req/s"])
            rates.add(["output throughput", Format.number(s.outputTokensPerSecond, digits: 1) + " tok/s"
                       + (s.outputTokensEstimated ? " (estimated)" : "")])
            rates.add(["total throughput (prompt + output)",
                       Format.number(s.totalTokensPerSecond, digits: 1) + " tok/s"])
            rates.add(["peak output throughput (1 s buckets)",
                       Format.number(s.peakOutputTokensPerSecond, digits: 1) + " tok/s"])
            rates.add(["goodput [^goodput]", Format.number(s.goodputRPS, digits: 2) + " req/s"])
            rates.add(["SLO attainment [^goodput]", Format.percent(s.sloAttainment) + " of requests"])
            rates.add(["error rate", Format.percent(s.errorRate) + " (\(s.failed) of \(s.requests))"])
            if let rate = s.prefixCacheHitRate, let cached = s.cachedPromptTokens, let total = s.promptTokensWithCacheReport {
                rates.add(["prefix cache hits (usage.prompt_tokens_details)",
                           Format.percent(rate) + " of prompt tokens (\(cached) of \(total))"])
            }
            if let reasoning = s.reasoningTokens {
                let counted = s.reasoningTokensCounted.map {
                    "; \($0) requests counted from their reasoning events, the server having reported 0 (vLLM counts "
                        + "only tokens after a `<think>` it generated, not after one the chat template opened)"
                } ?? ""
                rates.add(["reasoning tokens (usage.completion_tokens_details)", "\(reasoning) of \(s.outputTokens) output "
                           + "tokens (" + Format.percent(s.outputTokens > 0 ? Double(reasoning) / Double(s.outputTokens) : nil)
                           + counted + ")"])
            }
            if let versions = s.httpVersions {
                rates.add(["HTTP version", versions.sorted { $0.key < $1.key }
                    .map { "HTTP/\($0.key) (\($0.value) requests)" }.joined(separator: ", ")])
            }
            if let cost = result.targets.first(where: { $0.name == s.target })?.hourlyCost {
                let runCost = cost * s.durationS / 3600
                rates.add(["cost per 1000 requests [^cost]",
                           Format.money(s.succeeded > 0 ? runCost / Double(s.succeeded) * 1000 : nil)])
                rates.add(["cost per 1M output tokens [^cost]",
                           Format.money(s.outputTokens > 0 ? runCost / Double(s.outputTokens) * 1_000_000 : nil)])
            }
            out += rates.render() + "\n"
            if let slo = s.slo, !slo.isEmpty { out += "SLO: \(describe(slo)).\n\n" }
        }
        return out
    }

    static func describe(_ slo: SLO) -> String {
        var parts: [String] = []
        if let v = slo.ttftMs { parts.append("TTFT ≤ \(Format.ms(v)) ms") }
        if let v = slo.itlMs { parts.append("mean ITL per event ≤ \(Format.ms(v)) ms") }
        if let v = slo.tpotMs { parts.append("TPOT ≤ \(Format.ms(v)) ms") }
        if let v = slo.e2eMs { parts.append("E2E ≤ \(Format.ms(v)) ms") }
        return parts.joined(separator: ", ")
    }

    static func tokensSection(_ result: RunResult) -> String {
        var out = "## Input and output tokens\n\nRequested values come from the workload; actual values from the "
            + "server's `usage` (mean over successful requests).\n\n"
        var table = MarkdownTable(["target", "prompt requested (mean)", "prompt actual (mean)",
                                   "max_tokens requested (mean)", "output actual (mean)", "output p50", "output max"])
        for s in result.summaries {
            let output = s.outputTokensPerRequest
            table.add([Format.code(s.target),
                       tokens(s.requestedPromptTokensMean),
                       tokens(s.promptTokensPerRequest?.mean),
                       tokens(s.requestedMaxTokensMean),
                       tokens(output?.mean) + (s.outputTokensEstimated ? " (estimated)" : ""),
                       tokens(output?.p50), tokens(output?.max)])
        }
        out += table.render() + "\n"
        if result.summaries.allSatisfy({ $0.requestedPromptTokensMean == nil && $0.requestedMaxTokensMean == nil }) {
            out += "Requested values are n/a: the requests did not record them (no request records were available, "
                + "or the result predates them).\n\n"
        }
        return out
    }

    private static func tokens(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return Format.number(value, digits: value == value.rounded() ? 0 : 1) + " tokens"
    }
}
