import Foundation
import Metrics

/// Writes a comparison's files: compare.md, compare.csv, compare.json and charts/compare-*.svg.
package enum ComparisonReport {
    package static let markdownFile = "compare.md"
    package static let csvFile = "compare.csv"
    package static let jsonFile = "compare.json"

    package static func write(_ comparison: Comparison, runs: [DeploymentRuns], runLinks: [String: String] = [:],
                             to directory: URL) throws {
        let charts = directory.appendingPathComponent(ReportWriter.chartsDirectory, isDirectory: true)
        try FileManager.default.createDirectory(at: charts, withIntermediateDirectories: true)
        var linked: [(String, String)] = []
        for (file, chart) in self.charts(comparison, runs: runs) {
            try Data(chart.render().utf8).write(to: charts.appendingPathComponent(file))
            linked.append(("\(ReportWriter.chartsDirectory)/\(file)", chart.title))
        }
        try Data(markdown(comparison, charts: linked, runLinks: runLinks).utf8)
            .write(to: directory.appendingPathComponent(markdownFile))
        try Data(csv(comparison).utf8).write(to: directory.appendingPathComponent(csvFile))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                      nan: "nan")
        try encoder.encode(comparison).write(to: directory.appendingPathComponent(jsonFile))
    }

    static func charts(_ c: Comparison, runs: [DeploymentRuns]) -> [(String, SVGChart)] {
        func named(_ metric: String) -> [ReportCharts.NamedHistogram] {
            runs.compactMap { run in
                run.histograms[metric].map { ReportCharts.NamedHistogram(name: run.description.name, histogram: $0) }
            }
        }
        var out: [(String, SVGChart)] = [
            ("compare-ttft-cdf.svg", ReportCharts.latencyCDF(title: "TTFT, all deployments",
                                                             xLabel: "time to first token (ms)", histograms: named("ttft"))),
            ("compare-itl-cdf.svg", ReportCharts.latencyCDF(title: "Inter-token latency (per event), all deployments",
                                                            xLabel: "gap between token events (ms)",
                                                            histograms: named("itl_event"))),
        ]
        let points = c.deployments.compactMap { d -> (name: String, throughput: Double, latencyMs: Double)? in
            guard let rps = d.cells["output_tokens_per_s"]?.value, let ttft = d.cells["ttft_p50_ms"]?.value else { return nil }
            return (d.name, rps, ttft)
        }
        out.append(("compare-throughput-vs-ttft.svg", ReportCharts.throughputVsLatency(
            title: "Throughput vs latency", xLabel: "output throughput (tok/s)", yLabel: "TTFT p50 (ms)", points: points)))
        return out
    }

    static func number(_ value: Double?, unit: String) -> String {
        guard let value, value.isFinite else { return "n/a" }
        switch unit {
        case "ms": return value >= 100 ? String(format: "%.0f", value) : String(format: "%.1f", value)
        case "%": return String(format: "%.1f", value)
        default: return value >= 100 ? String(format: "%.0f", value) : String(format: "%.2f", value)
        }
    }

    static func money(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return value >= 1 ? String(format: "$%.2f", value) : String(format: "$%.4f", value)
    }

    /// The headline table (also printed by `tpbench compare` and `tpbench demo`).
    package static func headlineTable(_ c: Comparison) -> String {
        var table = MarkdownTable(["metric"] + c.deployments.map(\.name))
        let keys = ["ttft_p50_ms", "itl_event_p50_ms", "tpot_p50_ms", "e2e_p50_ms", "requests_per_s",
                    "output_tokens_per_s", "goodput_rps", "failure_pct", "gpu_util_pct", "energy_per_1k_requests_wh"]
        for metric in c.metrics where keys.contains(metric.key) {
            guard c.deployments.contains(where: { $0.cells[metric.key] != nil }) else { continue }
            table.add(["\(metric.label) (\(metric.unit))"] + c.deployments.map { d in
                guard let cell = d.cells[metric.key] else { return "n/a" }
                return number(cell.value, unit: metric.unit) + (cell.phrase.map { " (\($0))" } ?? "")
            })
        }
        table.add(["cost / 1000 requests"] + c.deployments.map { money($0.costPer1kRequests) })
        if let budget = c.gpuBudget {
            table.add(["projection for \(budget) GPUs (req/s)"] + c.deployments.map { d in
                d.projection.map { "\($0.replicas) x = " + number($0.requestsPerSecond, unit: "req/s") } ?? "n/a"
            })
        }
        return table.render()
    }

    static func markdown(_ c: Comparison, charts: [(String, String)], runLinks: [String: String]) -> String {
        var out = c.prediction == nil ? "# Deployment comparison: \(c.workloadName)\n\n"
            : "# Deployment plan (predicted): \(c.workloadName)\n\n"
        if let prediction = c.prediction { out += "> **\(prediction)**\n\n" }
        out += "Baseline: **\(c.baseline)**. Ratios compare each deployment with the baseline"
        let repeats = c.deployments.map(\.repeats).max() ?? 1
        out += repeats > 1 ? "; values are means over \(repeats) interleaved repeats.\n\n" : ".\n\n"
        out += "## Verdict\n\n" + c.verdict.map { "- \($0)" }.joined(separator: "\n") + "\n\n"

        out += "## Deployments\n\n"
        var setup = MarkdownTable(["deployment", "TP", "GPUs", "GPU", "interconnect", "cost/hour", "replicas (URLs)"])
        for d in c.deployments {
            let desc = d.description
            setup.add([d.name, desc.tensorParallel.map(String.init) ?? "n/a", desc.gpus.map(String.init) ?? "n/a",
                       desc.gpu ?? "n/a", desc.interconnect ?? "n/a", money(desc.hourlyCost), String(desc.baseURLs.count)])
        }
        out += setup.render() + "\n\n"
        out += launchSection(c)

        out += "## Side by side\n\n"
        var table = MarkdownTable(["metric"] + c.deployments.map(\.name))
        for metric in c.metrics {
            guard c.deployments.contains(where: { $0.cells[metric.key] != nil }) else { continue }
            table.add(["\(metric.label) (\(metric.unit))"] + c.deployments.map { d in
                guard let cell = d.cells[metric.key] else { return "n/a" }
                var text = number(cell.value, unit: metric.unit)
                if let ci = cell.ci95 { text += " ± " + number(ci, unit: metric.unit) }
                if let band = cell.band { text += String(format: " ±%.1f %%", band * 100) }
                if let phrase = cell.phrase {
                    text += " (\(phrase)" + (cell.significant == false ? ", not significant" : "") + ")"
                }
                return text
            })
        }
        out += table.render() + "\n\n"

        out += "## Efficiency and cost\n\n"
        var cost = MarkdownTable(["deployment", "req/s per GPU", "output tok/s per GPU", "cost / 1000 requests",
                                  "cost / 1M output tokens"])
        for d in c.deployments {
            cost.add([d.name, number(d.requestsPerSecondPerGPU, unit: "req/s"),
                      number(d.outputTokensPerSecondPerGPU, unit: "tok/s"), money(d.costPer1kRequests),
                      money(d.costPer1MOutputTokens)])
        }
        out += cost.render() + "\n\n"
        if let budget = c.gpuBudget {
            out += "## Replica projection for \(budget) GPUs\n\n"
            out += "_A projection, not a measurement_: N independent replicas of each deployment, each under the load "
                + "measured here, behind a balancer that adds nothing.\n\n"
            var projection = MarkdownTable(["deployment", "replicas", "req/s", "output tok/s", "cost / 1000 requests"])
            for d in c.deployments {
                guard let p = d.projection else {
                    projection.add([d.name, "n/a (GPU count does not divide \(budget))", "", "", ""])
                    continue
                }
                projection.add([d.name, "\(p.replicas) x \(d.name)", number(p.requestsPerSecond, unit: "req/s"),
                                number(p.outputTokensPerSecond, unit: "tok/s"), money(p.costPer1kRequests)])
            }
            out += projection.render() + "\n\n"
        }
        out += gpuSection(c)
        out += interconnectSection(c)
        if !charts.isEmpty {
            out += "## Charts\n\n" + charts.map { "![\($0.1)](\($0.0))" }.joined(separator: "\n\n") + "\n\n"
        }
        if !runLinks.isEmpty {
            out += "## Per-deployment reports\n\n"
            out += c.deployments.compactMap { d in runLinks[d.name].map { "- [\(d.name)](\($0))" } }.joined(separator: "\n")
            out += "\n\n"
        }
        out += "Metrics are defined in each run's report.md; TTFT and ITL come from the client's monotonic clock. "
            + "Cost figures use the cost per hour given for each deployment.\n"
        return out
    }

    /// What the GPUs did: utilization, power, energy, memory and link traffic per deployment (means over repeats).
    static func gpuSection(_ c: Comparison) -> String {
        guard c.deployments.contains(where: { $0.gpu != nil }) else { return "" }
        var out = "## GPUs\n\n"
        out += "From each deployment's DCGM exporter or nvidia-smi during its run. Utilization is the share of time a "
            + "kernel ran; low utilization while requests are in flight means the GPUs were waiting (on communication, "
            + "the host or the network), not short of work.\n\n"
        var table = MarkdownTable(["deployment", "GPUs", "utilization mean (least busy)", "power (all GPUs)",
                                   "energy / 1000 requests", "energy / 1M output tokens", "memory (fullest GPU)",
                                   "PCIe sent", "NVLink sent"])
        for d in c.deployments {
            guard let g = d.gpu else {
                table.add([d.name, "n/a", "no telemetry", "", "", "", "", "", ""])
                continue
            }
            func f(_ v: Double?, _ format: String, _ unit: String) -> String {
                v.map { String(format: format, $0) + unit } ?? "n/a"
            }
            table.add([d.name, String(g.gpus),
                       f(g.utilizationPct, "%.0f", " %") + " (" + f(g.minimumUtilizationPct, "%.0f", " %") + ")",
                       f(g.powerW, "%.0f", " W"), f(d.cells["energy_per_1k_requests_wh"]?.value, "%.2f", " Wh"),
                       f(d.cells["energy_per_1m_output_tokens_kwh"]?.value, "%.3f", " kWh"),
                       g.memoryUsedGiB.map { used in String(format: "%.1f", used)
                           + (g.memoryTotalGiB.map { String(format: " of %.0f", $0) } ?? "") + " GiB" } ?? "n/a",
                       f(g.pcieTxGBps, "%.2f", " GB/s"), f(g.nvlinkTxGBps, "%.2f", " GB/s")])
        }
        return out + table.render() + "\n\n"
    }

    /// The deployments tpbench started: command, start-up time, version, logs, and why one did not start or ended.
    static func launchSection(_ c: Comparison) -> String {
        guard let launches = c.launches, !launches.isEmpty else { return "" }
        var out = "## Launched deployments\n\n"
        if let lifecycle = launches.compactMap(\.lifecycle).first { out += lifecycle + "\n\n" }
        var table = MarkdownTable(["deployment", "replicas", "start-up", "server version", "outcome", "command (first replica)",
                                   "logs"])
        for l in launches {
            table.add([l.name, String(l.replicas), l.startupSeconds.map { String(format: "%.1f s", $0) } ?? "n/a",
                       l.serverVersion ?? "n/a", MarkdownTable.escape(l.failure ?? "ran to the end"),
                       "`" + MarkdownTable.escape(l.commandLine) + "`",
                       l.logFiles.map { "[\($0)](\($0))" }.joined(separator: ", ")])
        }
        out += table.render() + "\n\n"
        for l in launches where l.failure != nil && !l.logTail.isEmpty {
            out += "Last lines of `\(l.name)`'s log:\n\n```\n" + l.logTail.joined(separator: "\n") + "\n```\n\n"
        }
        return out
    }

    static func csv(_ c: Comparison) -> String {
        var lines = ["deployment,metric,unit,value,ci95,ratio_to_baseline,phrase,significant,prediction_band"]
        for d in c.deployments {
            for metric in c.metrics {
                guard let cell = d.cells[metric.key] else { continue }
                func f(_ v: Double?) -> String { v.map { $0.isFinite ? String($0) : "" } ?? "" }
                lines.append([d.name, metric.key, metric.unit, f(cell.value), f(cell.ci95), f(cell.ratio),
                              cell.phrase ?? "", cell.significant.map { $0 ? "yes" : "no" } ?? "", f(cell.band)]
                    .map(CSVField.escape).joined(separator: ","))
            }
            for (key, value) in [("cost_per_1k_requests", d.costPer1kRequests),
                                 ("cost_per_1m_output_tokens", d.costPer1MOutputTokens),
                                 ("projected_requests_per_s", d.projection?.requestsPerSecond)] {
                guard let value else { continue }
                lines.append([d.name, key, key.hasPrefix("cost") ? "USD" : "req/s", String(value), "", "", "", "", ""]
                    .map(CSVField.escape).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

enum CSVField {
    static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
