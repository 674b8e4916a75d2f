import ArgumentParser
import Curl
import Foundation
import Harness
import LoadGen
import Metrics
import Report
import Workload

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a streaming benchmark against an OpenAI-compatible server.",
        discussion: """
            Offers a workload (a YAML file, or flags) to one target, timestamps every streamed event on a \
            monotonic clock, and prints TTFT, ITL, TPOT, E2E, throughput, goodput and failures. Flags override the \
            workload file's fields.
            Examples:
              tpbench run --url http://127.0.0.1:8000 --workload Workloads/seed-structured-output.yaml
              tpbench run --url http://127.0.0.1:8000 --concurrency 100 --requests 1000 --prompt-tokens 1000 \
            --max-tokens 500
            """
    )

    @Option(help: "Base URL of the server, e.g. http://127.0.0.1:8000 (a trailing /v1 is accepted). Repeat or separate with commas for replicas of one deployment.")
    var url: [String] = []

    @Option(help: "Workload file (YAML or JSON); see Workloads/.")
    var workload: String?

    @OptionGroup var overrides: WorkloadOverrides

    @OptionGroup var connection: ConnectionOptions

    @OptionGroup var serverMetrics: ServerMetricsOptions

    @Option(name: .customLong("client-threads"),
            help: "Client threads, each running one curl multi loop (default: one per 2500 streams, at most the core count).")
    var clientThreads: Int?

    @Flag(help: "Exit with status 1 when the client itself was the limit (a busy client thread, late timers, growing send lag), and refuse to send the load (exit 1) when more than 1% of the calibrated prompts missed their token target.")
    var strict = false

    @Flag(help: "Print the summary as JSON instead of a table.")
    var json = false

    @Flag(help: "No live progress.")
    var quiet = false

    @Flag(help: "Exit with status 1 if any request failed.")
    var failOnError = false

    @Option(help: "Thresholds that fail the run (exit 1), e.g. \"ttft_p95_ms>800,error_rate>0.01\".")
    var failOn: String?

    @Option(help: "Report directory (default: Reports/<UTC timestamp>-<workload name>).")
    var out: String?

    @Option(help: "Name of the target in reports.")
    var name: String = "target"

    @Option(help: "Offer shard I of N of the workload (for several client processes or machines; merge with tpbench merge).")
    var shard: String?

    @Option(help: "Start the load at this time (ISO 8601 like 2026-11-28T12:00:00Z, or Unix seconds), so shards start together.")
    var startAt: String?

    func validate() throws {
        guard !url.isEmpty else {
            throw ValidationError("--url is required, e.g. --url http://127.0.0.1:8000 "
                                  + "(start a mock with: tpbench mock --port 8000, or try: tpbench demo)")
        }
        for u in urls {
            do { try TargetURLError.check(u) } catch { throw ValidationError("\(error)") }
        }
        // `--url ""` or `--url ,` leaves no URL at all (it used to reach the runner and trap there).
        guard !urls.isEmpty else { throw ValidationError("--url is empty; give a base URL like http://127.0.0.1:8000") }
        if let clientThreads, !(1...64).contains(clientThreads) {
            throw ValidationError("--client-threads must be 1...64, got \(clientThreads)")
        }
        try overrides.validate()
        try connection.validate()
        if let failOn {
            do { _ = try Threshold.parseList(failOn) } catch { throw ValidationError("\(error)") }
        }
        if let shard {
            do { _ = try Shard.parse(shard) } catch { throw ValidationError("\(error)") }
        }
        if let startAt, parseStartTime(startAt) == nil {
            throw ValidationError("--start-at '\(startAt)': expected ISO 8601 (2026-11-28T12:00:00Z) or Unix seconds")
        }
    }

    var urls: [String] {
        url.flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
    }

    func run() async throws {
        let spec = try loadWorkload(path: workload, overrides: overrides, connection: connection)
        let deployment = DeploymentSpec(name: name, urls: urls)
        let directory = outputDirectory(out, workloadName: spec.name)
        // Before the probe and the load: results that cannot be written make the whole run worthless.
        do { try OutputPreflight.check(directory) } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let progress = quiet || json ? nil : ProgressReporter(plan: LoadPlan(spec))
        let interrupts = InterruptHandler()
        var options = RunSession.Options(
            settings: connection.settings(),
            loops: clientThreads ?? LoadRunner.defaultLoopCount(peakConcurrency: LoadPlan(spec).peakConcurrency),
            onRecord: { progress?.record($0) },
            onStart: { runner in
                interrupts.watch(runner)
                progress?.start(runner: runner)
            }, serverMetrics: serverMetrics.settings)
        options.keepRecords = false
        options.gpuTelemetry = serverMetrics.gpuSettings
        options.strictCalibration = strict
        let calibration = CalibrationProgress()
        if !(quiet || json) {
            options.onCalibration = { calibration.update($0, $1) }
            // Say what is waited for before the first byte of load: a probe of a hung server is not silence.
            var timeouts = spec.timeouts
            connection.apply(to: &timeouts)
            let probe = Timeouts.probe(Timeouts(timeouts))
            printStatus("probing \(urls[0]): GET /v1/models" + (spec.prompt.calibrate ? ", then token counting" : "")
                       + " (each probe waits at most \(Limits.describe((probe.totalMs ?? 0) / 1000)) s)")
        }
        options.shard = try shard.map(Shard.parse) ?? .whole
        options.startAt = startAt.flatMap(parseStartTime)
        let outcome: RunSession.Outcome
        do {
            outcome = try await RunSession.run(workload: spec, deployment: deployment, directory: directory,
                                               options: options)
        } catch {
            progress?.stop()
            printError("\(error)")
            // A dataset is read once the model is known; its problems are still bad input.
            throw ExitCode(error is TargetUnreachable || error is ProbeError ? 3
                           : error is DatasetError || error is ValidationFailure ? 2 : 1)
        }
        progress?.stop()
        let output = outcome.output
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(output.summary), as: UTF8.self))
        } else {
            print("workload \(spec.name): model \(output.model), \(describe(spec))")
            for note in outcome.result.notes { print("note: \(note)") }
            print(SummaryTable.render(output.summary))
            print("report: \(directory.path)/report.md")
        }
        if interrupts.interrupted { throw ExitCode(130) }
        if strict && ClientHealthAssessment.clientWasLimit(outcome.result.clientHealth) {
            printError("--strict: the client was the limit in this run (see the client-health warnings above)")
            throw ExitCode(1)
        }
        let violations = try failOn.map(Threshold.parseList)?.compactMap { $0.violation(in: output.summary) } ?? []
        for violation in violations { printError("threshold crossed: \(violation)") }
        if !violations.isEmpty || (failOnError && output.summary.failed > 0) { throw ExitCode(1) }
    }
}

/// Parses --start-at: ISO 8601 (with or without fractional seconds) or Unix seconds.
func parseStartTime(_ text: String) -> Date? {
    if let seconds = Double(text), seconds > 0 { return Date(timeIntervalSince1970: seconds) }
    let formatter = ISO8601DateFormatter()
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
}

/// The report directory: --out, else Reports/<UTC timestamp>-<name> under the working directory.
func outputDirectory(_ out: String?, workloadName: String) -> URL {
    if let out { return URL(fileURLWithPath: out, isDirectory: true) }
    return ReportWriter.defaultDirectory(reportsRoot: URL(fileURLWithPath: "Reports", isDirectory: true),
                                        startedAt: Date(), workloadName: workloadName)
}

/// A one-line description of a workload's load.
func describe(_ spec: WorkloadSpec) -> String {
    let load = spec.load
    var parts: [String] = []
    if let trace = spec.trace {
        let name = URL(fileURLWithPath: trace.file).lastPathComponent
        parts.append("trace \(name) (\(trace.format.rawValue)): \(LoadPlan(spec).maxRequests ?? trace.rows.count) requests over "
                     + String(format: "%.1f s", trace.lastArrivalS) + (trace.timeScale == 1 ? "" : ", time × \(trace.timeScale)")
                     + String(format: ", %.1f %% of prompt tokens in repeated prefix blocks)", trace.repeatedBlockShare * 100))
        if let c = load.concurrency { parts.append("max \(c) in flight") }
        return parts.joined(separator: ", ")
    }
    if let sessions = spec.sessions {
        var turns = "\(sessions.turns.nominal)"
        if case .fixed = sessions.turns {} else { turns = "~" + turns }
        parts.append("sessions of \(turns) turns (" + String(format: "think %.3g s", sessions.thinkTime.mean)
                     + ", history: \(sessions.history.rawValue))")
        if let count = sessions.count { parts.append("\(count) sessions") }
    }
    if !load.stages.isEmpty {
        parts.append("\(load.stages.count) stages")
    } else if let ramp = load.rampUp {
        parts.append("ramp \(ramp.from)→\(ramp.to) req/s over \(ramp.durationS) s")
    } else if let rate = load.rate {
        parts.append("\(rate) req/s \(load.arrival.rawValue)")
        if let c = load.concurrency { parts.append("max \(c) in flight") }
    } else {
        parts.append("concurrency \(load.concurrency ?? 1)" + (spec.sessions != nil ? " (users)" : ""))
    }
    if let r = load.requests { parts.append("\(r) requests") }
    if let d = load.durationS { parts.append("\(d) s") }
    return parts.joined(separator: ", ")
}

/// Loads the workload file (if any) and applies command-line overrides; bad input exits with status 2.
func loadWorkload(path: String?, overrides: WorkloadOverrides, connection: ConnectionOptions) throws -> WorkloadSpec {
    var spec = WorkloadSpec()
    if let path {
        do {
            spec = try WorkloadLoader.load(path: path)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
    } else {
        spec.load.concurrency = 10
        // A multi-turn load given by --sessions ends with its sessions, not after a default request count.
        if overrides.sessions == nil { spec.load.requests = 100 }
    }
    do {
        try overrides.apply(to: &spec)
        if let model = connection.model { spec.model = model }
    } catch {
        printError("\(error)")
        throw ExitCode(2)
    }
    connection.apply(to: &spec.timeouts)
    return spec
}
