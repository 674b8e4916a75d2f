import Foundation
import Metrics
import Report
import Workload

/// Runs one seeded workload against several deployments (interleaved A B A B when repeated) and writes the
/// per-deployment reports plus one comparison report.
public enum CompareSession {
    public struct Outcome: Sendable {
        public var comparison: Comparison
        public var runs: [DeploymentRuns]
        public var directory: URL
        /// Client-health warnings of every run, prefixed with the deployment (for `--strict`).
        public var clientWarnings: [String] = []
    }

    public static func run(workload: WorkloadSpec, deployments: [DeploymentSpec], repeats: Int = 1,
                           baseline: String? = nil, directory: URL, options: RunSession.Options,
                           announce: @escaping @Sendable (String) -> Void = { _ in },
                           prepare: @escaping @Sendable (DeploymentSpec) async throws -> DeploymentSpec = { $0 },
                           finish: @escaping @Sendable (DeploymentSpec) async throws -> Void = { _ in },
                           annotate: @Sendable (inout Comparison) -> Void = { _ in })
        async throws -> Outcome {
        var results: [String: [RunResult]] = [:]
        var links: [String: String] = [:]
        var descriptions: [String: TargetDescription] = [:]
        for round in 0..<max(1, repeats) {
            for deployment in deployments {
                let live = try await prepare(deployment)
                let subdirectory = repeats > 1 ? "\(deployment.name)/run-\(round + 1)" : deployment.name
                announce("running \(workload.name) against \(deployment.name)"
                         + (repeats > 1 ? " (repeat \(round + 1) of \(repeats))" : "") + " …")
                let outcome: RunSession.Outcome
                do {
                    outcome = try await RunSession.run(
                        workload: workload, deployment: live,
                        directory: directory.appendingPathComponent(subdirectory, isDirectory: true), options: options)
                } catch {
                    try? await finish(live)
                    throw error
                }
                try await finish(live)
                results[deployment.name, default: []].append(outcome.result)
                links[deployment.name] = "\(subdirectory)/\(ReportWriter.markdownFile)"
                descriptions[deployment.name] = outcome.result.targets.first
            }
        }
        let runs = deployments.compactMap { d -> DeploymentRuns? in
            guard let list = results[d.name], let description = descriptions[d.name] else { return nil }
            return deploymentRuns(name: d.name, description: description, results: list)
        }
        var comparison = Comparison.build(workloadName: workload.name, runs: runs, baseline: baseline)
        annotate(&comparison)
        try ComparisonReport.write(comparison, runs: runs, runLinks: links, to: directory)
        let warnings = deployments.flatMap { d in
            (results[d.name] ?? []).flatMap { result in (result.clientHealth?.warnings ?? []).map { "\(d.name): \($0)" } }
        }
        return Outcome(comparison: comparison, runs: runs, directory: directory, clientWarnings: warnings)
    }

    /// Compares saved results (one result per deployment and repeat; grouped by target name).
    public static func compareSaved(_ results: [RunResult], baseline: String?, directory: URL,
                                    annotate: (inout Comparison) -> Void = { _ in }) throws -> Outcome {
        var order: [String] = []
        var grouped: [String: [RunResult]] = [:]
        var descriptions: [String: TargetDescription] = [:]
        for result in results {
            for target in result.targets {
                if grouped[target.name] == nil { order.append(target.name) }
                grouped[target.name, default: []].append(result)
                descriptions[target.name] = descriptions[target.name] ?? target
            }
        }
        let runs = order.compactMap { name in
            descriptions[name].map { deploymentRuns(name: name, description: $0, results: grouped[name] ?? []) }
        }
        let workloadName = results.first?.workloadName ?? "saved results"
        var comparison = Comparison.build(workloadName: workloadName, runs: runs, baseline: baseline)
        annotate(&comparison)
        try ComparisonReport.write(comparison, runs: runs, to: directory)
        return Outcome(comparison: comparison, runs: runs, directory: directory)
    }

    static func deploymentRuns(name: String, description: TargetDescription, results: [RunResult]) -> DeploymentRuns {
        let summaries = results.compactMap { $0.summaries.first { $0.target == name } }
        var merged: [String: LatencyHistogram] = [:]
        for result in results {
            for (metric, histogram) in result.histograms[name] ?? [:] {
                merged[metric, default: LatencyHistogram()].merge(histogram)
            }
        }
        return DeploymentRuns(description: description, summaries: summaries, histograms: merged)
    }
}
