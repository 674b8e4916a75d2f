import Foundation
import Metrics
import Report
import Workload

/// Runs a workload at each level of concurrency (closed loop) or rate (open loop) per deployment, stopping a
/// deployment early when it is clearly saturated, and writes the sweep report beside each level's full report.
package enum SweepSession {
    package struct Settings: Sendable {
        package var dimension: Sweep.Dimension
        package var levels: [Double]
        /// Closed loop: requests per level = max(this, 2 × concurrency).
        package var requestsPerLevel: Int
        /// Open loop: seconds per level.
        package var secondsPerLevel: Double
        /// TTFT p95 objective for the knee (default: the workload's slo.ttft_ms).
        package var ttftP95SLOMs: Double?

        package init(dimension: Sweep.Dimension, levels: [Double], requestsPerLevel: Int = 50,
                    secondsPerLevel: Double = 30, ttftP95SLOMs: Double? = nil) {
            self.dimension = dimension
            self.levels = levels
            self.requestsPerLevel = requestsPerLevel
            self.secondsPerLevel = secondsPerLevel
            self.ttftP95SLOMs = ttftP95SLOMs
        }
    }

    /// Saturation: more than 10% failures, or TTFT p95 above 10× the SLO (or 20× the first level's without one).
    static func saturation(_ summary: TargetSummary, first: TargetSummary?, sloMs: Double?) -> String? {
        if summary.errorRate > 0.10 {
            return String(format: "%.0f%% of requests failed", summary.errorRate * 100)
        }
        guard let p95 = summary.ttftMs?.p95 else { return "no request succeeded" }
        if let slo = sloMs, p95 > 10 * slo {
            return String(format: "TTFT p95 %.0f ms is over 10x the SLO (%.0f ms): queueing exploded", p95, slo)
        }
        if sloMs == nil, let base = first?.ttftMs?.p95, base > 0, p95 > 20 * base {
            return String(format: "TTFT p95 %.0f ms is over 20x the first level's: queueing exploded", p95)
        }
        return nil
    }

    package static func run(workload: WorkloadSpec, deployments: [DeploymentSpec], settings: Settings,
                           directory: URL, options: RunSession.Options,
                           announce: @escaping @Sendable (String) -> Void = { _ in },
                           prepare: @escaping @Sendable (DeploymentSpec) async throws -> DeploymentSpec = { $0 },
                           finish: @escaping @Sendable (DeploymentSpec) async throws -> Void = { _ in })
        async throws -> Sweep {
        let slo = settings.ttftP95SLOMs ?? workload.slo.ttftMs
        var curves: [(deployment: String, points: [Sweep.Point], stoppedEarly: String?)] = []
        for deployment in deployments {
            let live = try await prepare(deployment)
            var points: [Sweep.Point] = []
            var stopped: String?
            var first: TargetSummary?
            do {
                for level in settings.levels.sorted() {
                    var spec = workload
                    spec.load = LoadSpec()
                    switch settings.dimension {
                    case .concurrency:
                        spec.load.concurrency = max(1, Int(level))
                        spec.load.requests = max(settings.requestsPerLevel, 2 * Int(level))
                    case .rate:
                        spec.load.rate = level
                        spec.load.arrival = workload.load.arrival
                        spec.load.durationS = settings.secondsPerLevel
                    }
                    let name = "\(deployment.name)/\(settings.dimension.rawValue)-\(Sweep.format(level))"
                    announce("sweep: \(deployment.name) at \(settings.dimension.rawValue) \(Sweep.format(level)) …")
                    let outcome = try await RunSession.run(
                        workload: spec, deployment: live,
                        directory: directory.appendingPathComponent(name, isDirectory: true), options: options)
                    let summary = outcome.output.summary
                    points.append(Sweep.Point(level: level, summary: summary, report: "\(name)/report.md"))
                    if first == nil { first = summary }
                    if let reason = saturation(summary, first: first, sloMs: slo), level != settings.levels.max() {
                        stopped = "saturated at \(settings.dimension.rawValue) \(Sweep.format(level)): \(reason)"
                        break
                    }
                }
            } catch {
                try? await finish(live)
                throw error
            }
            try await finish(live)
            curves.append((deployment.name, points, stopped))
        }
        let sweep = Sweep.build(workloadName: workload.name, dimension: settings.dimension, ttftP95SLOMs: slo,
                                curves: curves)
        try SweepReport.write(sweep, to: directory)
        return sweep
    }
}
