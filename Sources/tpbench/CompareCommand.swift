import ArgumentParser
import Foundation
import Harness
import LoadGen
import Metrics
import Report
import Workload

struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run one workload against several deployments (or compare saved results) and write a comparison.",
        discussion: """
            Live: tpbench compare --workload Workloads/seed-structured-output.yaml \
            --deployments Workloads/deployments-example.yaml [--repeat 3] [--baseline tp1]
            Or with flags: --target tp1=http://127.0.0.1:8000 --target tp4=http://127.0.0.1:8001
            Saved: tpbench compare Reports/a/result.json Reports/b/result.json
            """
    )

    @Argument(help: "Saved result.json files (or run directories) to compare instead of running.")
    var results: [String] = []

    @Option(help: "Workload file (YAML or JSON).")
    var workload: String?

    @Option(help: "Deployments file (YAML).")
    var deployments: String?

    @Option(help: "A deployment as NAME=URL[,URL...] (repeatable).")
    var target: [String] = []

    @Option(help: "Run each deployment this many times, interleaved (A B A B), for confidence intervals.")
    var `repeat`: Int = 1

    @Option(help: "Deployment the others are compared with (default: the first).")
    var baseline: String?

    @Option(help: "Report directory (default: Reports/<UTC timestamp>-compare-<workload name>).")
    var out: String?

    @OptionGroup var overrides: WorkloadOverrides
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var serverMetrics: ServerMetricsOptions
    @OptionGroup var interconnect: NCCLLogOptions

    @Option(name: .customLong("client-threads"),
            help: "Client threads, each running one curl multi loop (default: one per 2500 streams, at most the core count).")
    var clientThreads: Int?

    @Flag(help: "Exit with status 1 when the client itself was the limit (a busy client thread, late timers, growing send lag).")
    var strict = false

    @Flag(help: "No live progress.")
    var quiet = false

    @Flag(help: """
        With launched deployments (launch: in the deployments file) and --repeat: start each one afresh for every \
        repeat instead of keeping it running across repeats.
        """)
    var relaunch = false

    @Option(help: "Thresholds every deployment must meet (exit 1 otherwise), e.g. \"ttft_p95_ms>800\".")
    var failOn: String?

    func validate() throws {
        if results.isEmpty {
            guard deployments != nil || !target.isEmpty else {
                throw ValidationError("give --deployments FILE or --target NAME=URL (twice or more), "
                                      + "or saved result.json files to compare")
            }
        } else if deployments != nil || !target.isEmpty || workload != nil {
            throw ValidationError("compare either saved results or live deployments, not both")
        }
        guard (1...20).contains(`repeat`) else { throw ValidationError("--repeat must be 1...20, got \(`repeat`)") }
        if let failOn {
            do { _ = try Threshold.parseList(failOn) } catch { throw ValidationError("\(error)") }
        }
        try overrides.validate()
        try connection.validate()
    }

    func run() async throws {
        if !results.isEmpty { return try compareSaved() }
        var list: [DeploymentSpec] = []
        do {
            if let deployments { list += try DeploymentLoader.load(path: deployments) }
            list += try target.map(DeploymentSpec.parseTarget)
            for d in list { for u in d.urls { try TargetURLError.check(u) } }
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        if let baseline, !list.contains(where: { $0.name == baseline }) {
            printError("--baseline '\(baseline)' is not one of the deployments (\(list.map(\.name).joined(separator: ", ")))")
            throw ExitCode(2)
        }
        let spec = try loadWorkload(path: workload, overrides: overrides, connection: connection)
        let directory = outputDirectory(out, workloadName: "compare-" + spec.name)
        let interrupts = InterruptHandler()
        let quiet = self.quiet
        var options = RunSession.Options(settings: connection.settings(),
                                         loops: clientThreads ?? LoadRunner.defaultLoopCount(
                                            peakConcurrency: LoadPlan(spec).peakConcurrency),
                                         onStart: { interrupts.watch($0) }, serverMetrics: serverMetrics.settings)
        options.keepRecords = false
        options.gpuTelemetry = serverMetrics.gpuSettings
        options.strictCalibration = strict
        let calibration = CalibrationProgress()
        if !quiet { options.onCalibration = { calibration.update($0, $1) } }
        let annotate = try interconnect.annotator()
        do {
            let outcome = try await CompareSession.run(
                workload: spec, deployments: list, repeats: `repeat`, baseline: baseline, directory: directory,
                options: options, relaunch: relaunch, announce: { if !quiet { FileHandle.standardError.write(Data("\($0)\n".utf8)) } },
                annotate: annotate)
            printComparison(outcome)
            try judge(outcome)
            if strict && !outcome.clientWarnings.isEmpty {
                for warning in outcome.clientWarnings { printError("--strict: \(warning)") }
                throw ExitCode(1)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            printError("\(error)")
            throw ExitCode(error is TargetUnreachable || error is LaunchFailure ? 3 : error is ValidationFailure ? 2 : 1)
        }
    }

    private func judge(_ outcome: CompareSession.Outcome) throws {
        guard let failOn else { return }
        let thresholds = try Threshold.parseList(failOn)
        let violations = outcome.runs.flatMap { run in
            run.summaries.flatMap { summary in thresholds.compactMap { $0.violation(in: summary) } }
        }
        for violation in violations { printError("threshold crossed: \(violation)") }
        if !violations.isEmpty { throw ExitCode(1) }
    }

    private func compareSaved() throws {
        var loaded: [RunResult] = []
        for path in results {
            do {
                loaded.append(try SavedRun.load(path: URL(fileURLWithPath: path)).result)
            } catch {
                printError("\(error)")
                throw ExitCode(2)
            }
        }
        let directory = outputDirectory(out, workloadName: "compare-" + (loaded.first?.workloadName ?? "saved"))
        let annotate = try interconnect.annotator()
        do {
            printComparison(try CompareSession.compareSaved(loaded, baseline: baseline, directory: directory,
                                                            annotate: annotate))
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }
}

func printComparison(_ outcome: CompareSession.Outcome) {
    print(ComparisonReport.headlineTable(outcome.comparison))
    print("")
    for sentence in outcome.comparison.verdict { print("• \(sentence)") }
    print("\ncomparison report: \(outcome.directory.path)/\(ComparisonReport.markdownFile)")
}
