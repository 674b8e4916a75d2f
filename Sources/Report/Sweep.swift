import Foundation
import Metrics

/// A throughput–latency sweep: each deployment at increasing concurrency (or rate), with its knee and the
/// crossovers between deployments. A pure function of the per-level summaries.
package struct Sweep: Sendable, Codable, Equatable {
    package static let schemaID = "tpbench.sweep/1"

    package enum Dimension: String, Sendable, Codable { case concurrency, rate }

    package struct Point: Sendable, Codable, Equatable {
        package var level: Double
        package var requestsPerSecond: Double
        package var outputTokensPerSecond: Double
        package var ttftP50Ms: Double?
        package var ttftP95Ms: Double?
        package var itlP50Ms: Double?
        package var e2eP95Ms: Double?
        package var failureRate: Double
        package var report: String?

        package init(level: Double, summary: TargetSummary, report: String? = nil) {
            self.level = level
            requestsPerSecond = summary.requestsPerSecond
            outputTokensPerSecond = summary.outputTokensPerSecond
            ttftP50Ms = summary.ttftMs?.p50
            ttftP95Ms = summary.ttftMs?.p95
            itlP50Ms = summary.itlEventMs?.p50
            e2eP95Ms = summary.e2eMs?.p95
            failureRate = summary.errorRate
            self.report = report
        }
    }

    package struct Curve: Sendable, Codable, Equatable {
        package var deployment: String
        package var points: [Point]
        /// Why the sweep stopped before the last level, if it did.
        package var stoppedEarly: String?
        /// The level with the most throughput whose TTFT p95 meets the SLO.
        package var knee: Point?
    }

    package struct Crossover: Sendable, Codable, Equatable {
        package var leader: String
        package var overtaken: String
        /// First level at which `leader` delivers more output throughput than `overtaken`, having delivered less
        /// (or equal) at the previous common level.
        package var level: Double
    }

    package var schema = Sweep.schemaID
    package var workloadName: String
    package var dimension: Dimension
    package var ttftP95SLOMs: Double?
    package var curves: [Curve]
    package var crossovers: [Crossover]
    /// Plain statements, including "no crossover in the range" when there is none.
    package var findings: [String]

    package static func build(workloadName: String, dimension: Dimension, ttftP95SLOMs: Double?,
                             curves input: [(deployment: String, points: [Point], stoppedEarly: String?)]) -> Sweep {
        let curves = input.map { entry in
            Curve(deployment: entry.deployment, points: entry.points, stoppedEarly: entry.stoppedEarly,
                  knee: knee(entry.points, sloMs: ttftP95SLOMs))
        }
        var crossovers: [Crossover] = []
        var findings: [String] = []
        let unit = dimension == .concurrency ? "concurrency" : "req/s"
        for curve in curves {
            if let knee = curve.knee {
                findings.append(String(format: "%@: knee at %@ %@ — %.2f req/s with TTFT p95 %.0f ms", curve.deployment,
                                       format(knee.level), unit, knee.requestsPerSecond, knee.ttftP95Ms ?? .nan))
            } else if let slo = ttftP95SLOMs {
                findings.append("\(curve.deployment): no level met the TTFT p95 SLO of \(format(slo)) ms")
            }
            if let reason = curve.stoppedEarly { findings.append("\(curve.deployment): stopped early — \(reason)") }
        }
        for i in curves.indices {
            for j in curves.indices where j > i {
                let found = crossings(curves[i], curves[j])
                crossovers += found
                if found.isEmpty {
                    findings.append("\(curves[i].deployment) vs \(curves[j].deployment): no crossover in the range "
                                    + "swept (\(leaderAtAll(curves[i], curves[j])))")
                } else {
                    for c in found {
                        findings.append("\(c.leader) overtakes \(c.overtaken) at \(format(c.level)) \(unit)")
                    }
                }
            }
        }
        return Sweep(workloadName: workloadName, dimension: dimension, ttftP95SLOMs: ttftP95SLOMs, curves: curves,
                     crossovers: crossovers, findings: findings)
    }

    static func knee(_ points: [Point], sloMs: Double?) -> Point? {
        let eligible = points.filter { p in
            p.failureRate <= 0.01 && (sloMs.map { slo in (p.ttftP95Ms ?? .infinity) <= slo } ?? true)
        }
        return eligible.max { $0.requestsPerSecond < $1.requestsPerSecond }
    }

    /// Levels where the sign of the throughput difference flips.
    static func crossings(_ a: Curve, _ b: Curve) -> [Crossover] {
        let common = a.points.compactMap { p in b.points.first { $0.level == p.level }.map { (p, $0) } }
        var out: [Crossover] = []
        var previous: Double?
        for (pa, pb) in common {
            let difference = pa.outputTokensPerSecond - pb.outputTokensPerSecond
            // Differences within 2% are ties: noise must not make a crossover.
            let scale = max(pa.outputTokensPerSecond, pb.outputTokensPerSecond)
            let sign: Double = abs(difference) <= 0.02 * scale ? 0 : (difference > 0 ? 1 : -1)
            if sign != 0 {
                if let previous, previous != sign {
                    out.append(Crossover(leader: sign > 0 ? a.deployment : b.deployment,
                                         overtaken: sign > 0 ? b.deployment : a.deployment, level: pa.level))
                }
                previous = sign
            }
        }
        return out
    }

    static func leaderAtAll(_ a: Curve, _ b: Curve) -> String {
        let common = a.points.compactMap { p in b.points.first { $0.level == p.level }.map { (p, $0) } }
        guard !common.isEmpty else { return "no common levels" }
        let aWins = common.filter { $0.0.outputTokensPerSecond > $0.1.outputTokensPerSecond }.count
        if aWins == common.count { return "\(a.deployment) ahead at every level" }
        if aWins == 0 { return "\(b.deployment) ahead at every level" }
        return "within noise of each other"
    }

    package static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }
}

/// Writes sweep.md, sweep.csv, sweep.json and charts/sweep-throughput-vs-ttft.svg.
package enum SweepReport {
    package static func write(_ sweep: Sweep, to directory: URL) throws {
        let charts = directory.appendingPathComponent(ReportWriter.chartsDirectory, isDirectory: true)
        try FileManager.default.createDirectory(at: charts, withIntermediateDirectories: true)
        let chart = SVGChart(
            title: "Throughput vs TTFT p95 by \(sweep.dimension.rawValue)", xLabel: "output throughput (tok/s)",
            yLabel: "TTFT p95 (ms)",
            series: sweep.curves.map { curve in
                ChartSeries(name: curve.deployment,
                            points: curve.points.compactMap { p in
                                p.ttftP95Ms.map { ChartPoint(x: p.outputTokensPerSecond, y: $0) }
                            })
            })
        try Data(chart.render().utf8).write(to: charts.appendingPathComponent("sweep-throughput-vs-ttft.svg"))
        try Data(markdown(sweep).utf8).write(to: directory.appendingPathComponent("sweep.md"))
        try Data(csv(sweep).utf8).write(to: directory.appendingPathComponent("sweep.csv"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                      nan: "nan")
        try encoder.encode(sweep).write(to: directory.appendingPathComponent("sweep.json"))
    }

    static func cell(_ value: Double?, digits: Int = 1) -> String {
        guard let value, value.isFinite else { return "n/a" }
        return String(format: "%.\(digits)f", value)
    }

    package static func markdown(_ sweep: Sweep) -> String {
        var out = "# Sweep: \(sweep.workloadName) by \(sweep.dimension.rawValue)\n\n"
        if let slo = sweep.ttftP95SLOMs { out += "Knee: the level with the most throughput whose TTFT p95 ≤ \(cell(slo, digits: 0)) ms.\n\n" }
        out += "## Findings\n\n" + sweep.findings.map { "- \($0)" }.joined(separator: "\n") + "\n\n"
        for curve in sweep.curves {
            out += "## \(curve.deployment)\n\n"
            var table = MarkdownTable([sweep.dimension.rawValue, "req/s", "output tok/s", "TTFT p50 (ms)",
                                       "TTFT p95 (ms)", "ITL p50 (ms)", "E2E p95 (ms)", "failures", "report"])
            for p in curve.points {
                let mark = curve.knee?.level == p.level ? " (knee)" : ""
                table.add([Sweep.format(p.level) + mark, cell(p.requestsPerSecond, digits: 2),
                           cell(p.outputTokensPerSecond, digits: 0), cell(p.ttftP50Ms, digits: 0),
                           cell(p.ttftP95Ms, digits: 0), cell(p.itlP50Ms), cell(p.e2eP95Ms, digits: 0),
                           String(format: "%.1f%%", p.failureRate * 100), p.report.map { "[report](\($0))" } ?? ""])
            }
            out += table.render() + "\n\n"
            if let reason = curve.stoppedEarly { out += "_Stopped early: \(reason)._\n\n" }
        }
        out += "![throughput vs TTFT p95](charts/sweep-throughput-vs-ttft.svg)\n"
        return out
    }

    static func csv(_ sweep: Sweep) -> String {
        var lines = ["deployment,\(sweep.dimension.rawValue),requests_per_s,output_tokens_per_s,ttft_p50_ms,ttft_p95_ms,"
                     + "itl_p50_ms,e2e_p95_ms,failure_pct,knee"]
        for curve in sweep.curves {
            for p in curve.points {
                func f(_ v: Double?) -> String { v.map { $0.isFinite ? String($0) : "" } ?? "" }
                lines.append([CSVField.escape(curve.deployment), f(p.level), f(p.requestsPerSecond),
                              f(p.outputTokensPerSecond), f(p.ttftP50Ms), f(p.ttftP95Ms), f(p.itlP50Ms), f(p.e2eP95Ms),
                              f(p.failureRate * 100), curve.knee?.level == p.level ? "yes" : ""].joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
