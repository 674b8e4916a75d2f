import Curl
import Foundation
import Metrics
import Report
import Workload

/// Runs one seeded workload against several deployments (interleaved A B A B when repeated) and writes the
/// per-deployment reports plus one comparison report.
package enum CompareSession {
    package struct Outcome: Sendable {
        package var comparison: Comparison
        package var runs: [DeploymentRuns]
        package var directory: URL
        /// Client-health warnings of every run, prefixed with the deployment (for `--strict`).
        package var clientWarnings: [String] = []
    }

    /// Runs the comparison. Deployments with `launch:` are started by tpbench, checked ready, measured and stopped
    /// (`relaunch`: for each repeat; otherwise kept across repeats where their GPU lists do not overlap, so all run
    /// at once). One that does not start, or dies, gets a launch record saying why and the comparison goes on.
    package static func run(workload: WorkloadSpec, deployments: [DeploymentSpec], repeats: Int = 1,
                           baseline: String? = nil, directory: URL, options: RunSession.Options,
                           relaunch: Bool = false,
                           announce: @escaping @Sendable (String) -> Void = { _ in },
                           prepare: @escaping @Sendable (DeploymentSpec) async throws -> DeploymentSpec = { $0 },
                           finish: @escaping @Sendable (DeploymentSpec) async throws -> Void = { _ in },
                           annotate: @Sendable (inout Comparison) -> Void = { _ in })
        async throws -> Outcome {
        var results: [String: [RunResult]] = [:]
        var links: [String: String] = [:]
        var descriptions: [String: TargetDescription] = [:]
        let launched = deployments.filter { $0.launch != nil }
        let keepRunning = repeats > 1 && !relaunch && gpuListsAreDisjoint(launched)
        let lifecycle = launched.isEmpty ? nil
            : repeats <= 1 ? "Each deployment was launched, measured and stopped in turn."
            : keepRunning ? "All launched at once and kept for every repeat (their GPU lists do not overlap)."
            : "Relaunched for each repeat, one at a time (" + (relaunch ? "--relaunch" : "GPU lists overlap or are not given") + ")."
        var launches: [String: LaunchRecord] = [:]
        var running: [String: LaunchedDeployment] = [:]
        let probe = launched.isEmpty ? nil : try MultiLoop(index: 900)
        defer {
            for deployment in running.values { deployment.stop() }
            probe?.shutdown()
        }
        func start(_ d: DeploymentSpec, logs: URL) async -> LaunchedDeployment? {
            guard let probe else { return nil }
            do {
                let live = try await DeploymentLauncher.launch(d, directory: logs, reportDirectory: directory,
                                                               loop: probe, announce: announce)
                var record = live.record()
                record.lifecycle = lifecycle
                if let earlier = launches[d.name]?.startupSeconds, let now = record.startupSeconds {
                    record.startupSeconds = max(earlier, now)  // the slowest start of the repeats
                }
                launches[d.name] = record
                return live
            } catch {
                let failure = error as? LaunchFailure
                var record = LaunchRecord(name: d.name, commandLine: DeploymentLauncher.display(d.launch?.command ?? []),
                                          replicas: d.replicas, logFiles: [])
                record.failure = failure?.reason ?? "\(error)"
                record.logTail = failure?.logTail ?? []
                record.lifecycle = lifecycle
                launches[d.name] = record
                announce("\(d.name) did not start: \(record.failure ?? "")")
                return nil
            }
        }
        if keepRunning {
            for d in launched {
                if let live = await start(d, logs: directory.appendingPathComponent(d.name, isDirectory: true)) {
                    running[d.name] = live
                }
            }
        }
        for round in 0..<max(1, repeats) {
            for deployment in deployments {
                if launches[deployment.name]?.failure != nil { continue }
                let subdirectory = repeats > 1 ? "\(deployment.name)/run-\(round + 1)" : deployment.name
                let runDirectory = directory.appendingPathComponent(subdirectory, isDirectory: true)
                var ownLaunch: LaunchedDeployment?
                if deployment.launch != nil && running[deployment.name] == nil {
                    guard let live = await start(deployment, logs: runDirectory) else { continue }
                    ownLaunch = live
                }
                if let probe, deployment.launch != nil { await resetPrefixCache(deployment.urls, loop: probe) }
                let live = try await prepare(deployment)
                announce("running \(workload.name) against \(deployment.name)"
                         + (repeats > 1 ? " (repeat \(round + 1) of \(repeats))" : "") + " …")
                let outcome: RunSession.Outcome
                do {
                    outcome = try await RunSession.run(workload: workload, deployment: live, directory: runDirectory,
                                                       options: options)
                } catch {
                    ownLaunch?.stop()
                    try? await finish(live)
                    throw error
                }
                try await finish(live)
                // Refused or cut-off requests say the server may have gone: then give its exit a moment to show.
                let lostServer = outcome.result.summaries.contains {
                    ($0.failures[FailureClass.connect.rawValue] ?? 0) + ($0.failures[FailureClass.truncated.rawValue] ?? 0) > 0
                }
                if let died = await (ownLaunch ?? running[deployment.name])?.exited(within: lostServer ? 2 : 0) {
                    launches[deployment.name]?.failure = "replica \(died.replica + 1) exited with status \(died.status) "
                        + "during the run (its requests are recorded as failures)"
                    announce("\(deployment.name): \(launches[deployment.name]?.failure ?? "")")
                }
                ownLaunch?.stop()
                if launches[deployment.name]?.failure != nil, let kept = running.removeValue(forKey: deployment.name) {
                    kept.stop()
                }
                results[deployment.name, default: []].append(outcome.result)
                links[deployment.name] = "\(subdirectory)/\(ReportWriter.markdownFile)"
                descriptions[deployment.name] = outcome.result.targets.first
            }
        }
        for deployment in running.values { deployment.stop() }
        running = [:]
        let runs = deployments.compactMap { d -> DeploymentRuns? in
            guard let list = results[d.name], let description = descriptions[d.name] else { return nil }
            return deploymentRuns(name: d.name, description: description, results: list)
        }
        guard !runs.isEmpty else {
            let reasons = deployments.compactMap { d in launches[d.name]?.failure.map { "\(d.name): \($0)" } }
            throw LaunchFailure(name: deployments.map(\.name).joined(separator: ", "),
                                reason: "no deployment started (" + reasons.joined(separator: "; ") + ")", logTail: [])
        }
        let usableBaseline = baseline.flatMap { b in runs.contains { $0.description.name == b } ? b : nil }
        var comparison = Comparison.build(workloadName: workload.name, runs: runs, baseline: usableBaseline)
        if !launches.isEmpty {
            comparison.launches = deployments.compactMap { launches[$0.name] }
            for record in comparison.launches ?? [] {
                if let failure = record.failure { comparison.verdict.append("\(record.name): \(failure).") }
            }
        }
        annotate(&comparison)
        try ComparisonReport.write(comparison, runs: runs, runLinks: links, to: directory)
        let warnings = deployments.flatMap { d in
            (results[d.name] ?? []).flatMap { result in (result.clientHealth?.warnings ?? []).map { "\(d.name): \($0)" } }
        }
        return Outcome(comparison: comparison, runs: runs, directory: directory, clientWarnings: warnings)
    }

    /// Whether every launched deployment names its GPUs and no two share one (then they can all run at once).
    static func gpuListsAreDisjoint(_ deployments: [DeploymentSpec]) -> Bool {
        var seen = Set<Int>()
        for d in deployments {
            guard let ids = d.gpuIDs else { return false }
            for id in ids where !seen.insert(id).inserted { return false }
        }
        return true
    }

    /// Empties the server's prefix cache where it has an endpoint for it (vLLM: POST /reset_prefix_cache), so one run
    /// does not warm the next; a server without one answers 404 and nothing happens.
    static func resetPrefixCache(_ urls: [String], loop: MultiLoop) async {
        for url in urls {
            let request = TransferRequest(url: url + "/reset_prefix_cache", method: "POST",
                                          timeouts: Timeouts(connectMs: 2000, firstTokenMs: nil, idleMs: 10_000, totalMs: 10_000))
            _ = try? await loop.fetch(request, maxBytes: 1 << 16)
        }
    }

    /// Compares saved results (one result per deployment and repeat; grouped by target name).
    package static func compareSaved(_ results: [RunResult], baseline: String?, directory: URL,
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
        let measured = results.filter { $0.summaries.contains { $0.target == name } }
        let summaries = measured.compactMap { $0.summaries.first { $0.target == name } }
        let gpuUsage = measured.map { $0.gpuTelemetry?.first { $0.target == name }?.usage }
        var merged: [String: LatencyHistogram] = [:]
        for result in results {
            for (metric, histogram) in result.histograms[name] ?? [:] {
                merged[metric, default: LatencyHistogram()].merge(histogram)
            }
        }
        return DeploymentRuns(description: description, summaries: summaries, histograms: merged, gpuUsage: gpuUsage)
    }
}
