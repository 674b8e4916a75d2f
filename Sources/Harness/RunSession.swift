import Curl
import Foundation
import LoadGen
import Metrics
import Report
import ServerMetrics
import Workload

/// One benchmark run persisted as it goes: manifest.json first, requests.jsonl appended per finished request,
/// then result.json and the report files. This is what `tpbench run`, `compare` and `demo` share.
package enum RunSession {
    package struct Outcome: Sendable {
        package var result: RunResult
        package var records: [RequestRecord]
        package var directory: URL
        package var output: RunOutput
    }

    package struct Options: Sendable {
        package var settings: RequestSettings
        package var loops: Int
        package var commandLine: [String]
        package var onRecord: @Sendable (RequestRecord) -> Void
        package var onStart: @Sendable (LoadRunner) -> Void
        /// The part of the workload this process offers (`--shard i/n`).
        package var shard: Shard = .whole
        /// Wall-clock start of the load (`--start-at`), so shards on several machines start together.
        package var startAt: Date?
        /// Scraping of the target's /metrics during the run (on by default).
        package var serverMetrics: ServerMetricsSettings
        /// GPU telemetry during the run: DCGM exporters, or nvidia-smi for launched deployments (on by default).
        package var gpuTelemetry = GPUTelemetrySettings()
        /// Keep every record in memory and return it in `Outcome.records` (tests, selfbench). The CLI turns it
        /// off: records then live only in requests.jsonl and the summary is gathered as they finish, so a run of
        /// any length holds flat memory.
        package var keepRecords = true
        /// Refuse to send the load when more than 1 % of the prompts missed their token target (`--strict`).
        package var strictCalibration = false
        /// Calibration progress (prompts done, prompts in all), for the console.
        package var onCalibration: @Sendable (Int, Int) -> Void = { _, _ in }

        package init(settings: RequestSettings = RequestSettings(), loops: Int = 1,
                    commandLine: [String] = CommandLine.arguments,
                    onRecord: @escaping @Sendable (RequestRecord) -> Void = { _ in },
                    onStart: @escaping @Sendable (LoadRunner) -> Void = { _ in },
                    serverMetrics: ServerMetricsSettings = ServerMetricsSettings()) {
            self.settings = settings
            self.loops = loops
            self.commandLine = commandLine
            self.onRecord = onRecord
            self.onStart = onStart
            self.serverMetrics = serverMetrics
        }
    }

    package static func run(workload: WorkloadSpec, deployment: DeploymentSpec, directory: URL,
                           options: Options) async throws -> Outcome {
        let target = Target(name: deployment.name, baseURLs: deployment.urls)
        let startedAt = Date()
        let runID = directory.lastPathComponent
        var description = TargetDescription(
            name: deployment.name, baseURLs: target.baseURLs, tensorParallel: deployment.tensorParallel,
            gpus: deployment.gpus ?? deployment.tensorParallel, gpu: deployment.gpu,
            interconnect: deployment.interconnect, costPerGPUHour: deployment.costPerGPUHour,
            costPerHour: deployment.costPerHour,
            labels: deployment.labels.merging(options.shard.count > 1 ? ["shard": options.shard.description] : [:]) { $1 })
        let environment = ClientEnvironment(
            host: ProcessInfo.processInfo.hostName, cores: ProcessInfo.processInfo.activeProcessorCount,
            os: ProcessInfo.processInfo.operatingSystemVersionString, tpbenchVersion: TPBenchInfo.version,
            commandLine: redact(options.commandLine))
        let slo = SLO(ttftMs: workload.slo.ttftMs, itlMs: workload.slo.itlMs, tpotMs: workload.slo.tpotMs,
                      e2eMs: workload.slo.e2eMs)
        let manifest = RunManifest(runID: runID, startedAt: iso8601(startedAt), workloadName: workload.name,
                                   workload: workload.json, targets: [description], environment: environment,
                                   slo: slo.isEmpty ? nil : slo, seed: workload.seed)
        try ReportWriter.writeManifest(manifest, to: directory)
        let log = try RequestLog(url: directory.appendingPathComponent(RequestLog.fileName))
        let writeFailure = WriteFailure()
        let cpuBefore = ProcessResources.cpuNanoseconds()
        let onRecord = options.onRecord
        let onStart = options.onStart
        // Scraping starts before the load so the first scrape is the baseline for histogram deltas.
        let metricsEndpoints = options.serverMetrics.endpoints(for: target.baseURLs, deployment: deployment.name)
        let scraper = options.serverMetrics.enabled
            ? MetricsScraper(target: deployment.name, endpoints: metricsEndpoints,
                             headers: options.settings.headers, insecure: options.settings.insecure,
                             intervalSeconds: options.serverMetrics.intervalSeconds)
            : nil
        let gpuReader = GPUTelemetryReader.make(for: deployment, settings: options.gpuTelemetry,
                                                headers: options.settings.headers, insecure: options.settings.insecure,
                                                directory: directory)
        async let scraperStarted: Void? = scraper?.start()
        await gpuReader?.start()
        _ = await scraperStarted
        defer {
            scraper?.cancel()
            gpuReader?.cancel()
        }
        let output = try await Benchmark.run(
            workload: workload, target: target, settings: options.settings, loopCount: options.loops,
            shard: options.shard, startAt: options.startAt, keepRecords: options.keepRecords,
            strictCalibration: options.strictCalibration, onCalibration: options.onCalibration,
            onRecord: { record in
                do { try log.append(record) } catch { writeFailure.set("\(error)") }
                onRecord(record)
            },
            onStart: { runner in
                writeFailure.runner = runner
                onStart(runner)
            })
        try? log.close()
        async let serverSideFinished = scraper?.finish(epochNs: output.epochNs)
        var gpu = await gpuReader?.finish(epochNs: output.epochNs)
        let serverSide = await serverSideFinished
        if let read = gpu { gpu?.usage = GPUUsage.summarize(read.gpus, from: 0, to: output.wallSeconds) }
        description.serverModels = output.serverModels
        description.calibration = output.calibration
        // The epoch on the wall clock (ms), so `tpbench merge` can put shards on one timeline.
        let epochUnixMs = Date().timeIntervalSince1970 * 1000 - Double(MonotonicClock.now() &- output.epochNs) / 1e6
        description.labels["epoch_unix_ms"] = String(format: "%.3f", epochUnixMs)
        var notes = [output.calibrationNote]
        if let failure = writeFailure.message {
            notes.append("writing requests.jsonl failed mid-run (\(failure)); the run was stopped early")
        }
        let excluded = output.aggregate.excludedRequests
        if excluded > 0 { notes.append("\(excluded) warm-up/cool-down requests are in requests.jsonl but not in the results") }
        if output.unsentArrivals > 0 {
            notes.append("\(output.unsentArrivals) scheduled arrivals could not be sent before the end of the run "
                         + "(concurrency ceiling reached); they are not counted as requests")
        }
        if let sessions = output.sessionCounts, sessions.started > 0 {
            notes.append("\(sessions.started) sessions started, \(sessions.completed) answered every turn, "
                         + "\(sessions.cut) ended early (a turn failed, or the run stopped issuing before their last turn)")
        }
        if output.summary.outputTokensEstimated {
            notes.append("some output token counts are estimated from token events: the server sent no usage")
        }
        let health = ClientHealthAssessment.assess(output: output, cpuNanoseconds: ProcessResources.cpuNanoseconds() - cpuBefore)
        if let problem = output.realtimeProblem {
            notes.append("--realtime: \(problem); the client's threads ran at normal priority")
        }
        notes += health.warnings
        var result = RunResult.build(
            runID: runID, startedAt: manifest.startedAt, wallSeconds: output.wallSeconds, workloadName: workload.name,
            workload: workload.json, targets: [description], environment: environment,
            builders: [output.aggregate.builder], clientHealth: health, notes: notes)
        result.serverMetrics = serverSide.map { [$0] }
        result.gpuTelemetry = gpu.map { [$0] }
        if options.keepRecords || writeFailure.message != nil {
            // After a failed append the log is incomplete (or not a file at all): write what memory holds.
            try ReportWriter.write(result: result, records: output.records, to: directory)
        } else {
            try ReportWriter.write(result: result, requestLog: log.url, to: directory)
        }
        if let failure = writeFailure.message {
            throw ReportError(what: "results could not be written", path: directory.path, reason: failure,
                              fix: "free disk space or choose another --out directory")
        }
        return Outcome(result: result, records: output.records, directory: directory, output: output)
    }

    /// Drops API keys from a command line before it is saved (`--api-key X`, `--api-key=X`).
    static func redact(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var hideNext = false
        for argument in arguments {
            if hideNext {
                out.append("<redacted>")
                hideNext = false
            } else if argument == "--api-key" {
                out.append(argument)
                hideNext = true
            } else if argument.hasPrefix("--api-key=") {
                out.append("--api-key=<redacted>")
            } else {
                out.append(argument)
            }
        }
        return out
    }

    static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// Remembers the first failure to write requests.jsonl and stops the run: measuring into the void is worse than
/// stopping with a clear message.
final class WriteFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var _message: String?
    private var _runner: LoadRunner?

    var message: String? { lock.withLock { _message } }
    var runner: LoadRunner? {
        get { lock.withLock { _runner } }
        set { lock.withLock { _runner = newValue } }
    }

    func set(_ message: String) {
        let runner: LoadRunner? = lock.withLock {
            guard _message == nil else { return nil }
            _message = message
            return _runner
        }
        runner?.stopIssuing()
    }
}

package enum TPBenchInfo {
    package static let version = "0.1.0"
}
