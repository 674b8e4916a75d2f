import Curl
import Foundation
import Metrics
import ServerMetrics
import Workload

/// GPU telemetry from `nvidia-smi --query-gpu … --format=csv -lms`, for deployments tpbench launched on this host
/// when no DCGM exporter is named. nvidia-smi runs under the launcher's supervisor (so it never outlives tpbench) and
/// writes its CSV into the run folder; every line carries nvidia-smi's own timestamp, which puts it on the run's
/// timeline without a reader thread.
final class NvidiaSMISampler: @unchecked Sendable {
    static let fields = ["timestamp", "index", "name", "utilization.gpu", "power.draw", "memory.used", "memory.total"]
    static let fileName = "nvidia-smi.csv"

    let target: String
    let argv: [String]
    private let executable: String
    private let logPath: String
    private var process: LaunchedProcess?
    private var notes: [String] = []

    init(target: String, executable: String, gpuIDs: [Int]?, intervalMs: Int, directory: URL) {
        self.target = target
        self.executable = executable
        var argv = [executable, "--query-gpu=" + Self.fields.joined(separator: ","), "--format=csv,noheader,nounits",
                    "-lms", String(max(100, intervalMs))]
        if let gpuIDs, !gpuIDs.isEmpty { argv += ["-i", gpuIDs.map(String.init).joined(separator: ",")] }
        self.argv = argv
        self.logPath = directory.standardizedFileURL.appendingPathComponent(Self.fileName).path
    }

    /// Starts sampling; a failure becomes a note in the result, never an error of the run.
    func start() {
        switch DeploymentLauncher.start(executable: executable, argv: argv, environment: ProcessInfo.processInfo.environment,
                                        directory: nil, logPath: logPath, logName: Self.fileName, stopSignal: 15,
                                        graceMs: 1000) {
        case .success(let process): self.process = process
        case .failure(let problem): notes.append("nvidia-smi was not started: \(problem.text)")
        }
    }

    /// Stops nvidia-smi without reading it (the run failed).
    func cancel() {
        if let process { DeploymentLauncher.stop([process]) }
    }

    /// Stops nvidia-smi and reads what it wrote, on the timeline of `epochNs`.
    func finish(epochNs: UInt64) -> GPUTelemetry {
        if let process {
            if let status = process.exitStatus(), status != 0 {
                notes.append("nvidia-smi exited with status \(status) during the run; see \(Self.fileName)")
            }
            DeploymentLauncher.stop([process])
        }
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        // The epoch on the wall clock, to place nvidia-smi's timestamps (wall-clock, local time).
        let epochUnix = Date().timeIntervalSince1970 - Double(MonotonicClock.now() &- epochNs) / 1e9
        let parsed = Self.parse(text, epochUnix: epochUnix)
        if process != nil && parsed.gpus.isEmpty {
            notes.append("nvidia-smi gave no readable samples (\(parsed.skipped) lines skipped); see \(Self.fileName)")
        }
        return GPUTelemetry(target: target, source: "nvidia-smi", endpoints: [DeploymentLauncher.display(argv)],
                            gpus: parsed.gpus, usage: nil, notes: notes)
    }

    /// Parses `timestamp, index, name, utilization.gpu, power.draw, memory.used, memory.total` lines (noheader,
    /// nounits). `[N/A]` and `[Not Supported]` fields are missing values; lines that do not parse are counted.
    static func parse(_ text: String, epochUnix: Double) -> (gpus: [GPUSeries], skipped: Int) {
        var order: [String] = []
        var series: [String: GPUSeries] = [:]
        var skipped = 0
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count >= 7, let unix = wallClock(fields[0]) else {
                skipped += 1
                continue
            }
            let id = fields[1]
            func number(_ text: String) -> Double? { Double(text).flatMap { $0.isFinite ? $0 : nil } }
            let sample = GPUSample(second: unix - epochUnix, utilizationPct: number(fields[3]), powerW: number(fields[4]),
                                   memoryUsedMiB: number(fields[5]), memoryTotalMiB: number(fields[6]))
            if series[id] == nil {
                order.append(id)
                series[id] = GPUSeries(id: id, model: fields[2].isEmpty ? nil : fields[2])
            }
            series[id]?.samples.append(sample)
        }
        return (order.compactMap { series[$0] }, skipped)
    }

    /// nvidia-smi's `timestamp`: `YYYY/MM/DD HH:MM:SS.mmm` in local time → seconds since the Unix epoch.
    static func wallClock(_ text: String) -> Double? {
        let parts = text.split(whereSeparator: { $0 == "/" || $0 == " " || $0 == ":" })
        guard parts.count == 6, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              let hour = Int(parts[3]), let minute = Int(parts[4]), let seconds = Double(parts[5]) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.current
        let whole = Int(seconds.rounded(.down))
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: whole)
        guard let date = calendar.date(from: components) else { return nil }
        return date.timeIntervalSince1970 + (seconds - Double(whole))
    }
}

/// The GPU telemetry source of one run: a DCGM exporter scraper when URLs are named, else nvidia-smi for a deployment
/// tpbench launched on this host (when nvidia-smi is there), else none.
enum GPUTelemetryReader: Sendable {
    case dcgm(GPUMetricsScraper)
    case nvidiaSMI(NvidiaSMISampler)

    static func make(for deployment: DeploymentSpec, settings: GPUTelemetrySettings, headers: [String],
                     insecure: Bool, directory: URL) -> GPUTelemetryReader? {
        guard settings.enabled else { return nil }
        let urls = settings.endpoints(deployment: deployment.name, configured: deployment.gpuMetricsURLs)
        if !urls.isEmpty {
            return .dcgm(GPUMetricsScraper(target: deployment.name, gpuEndpoints: urls, headers: headers,
                                           insecure: insecure, intervalSeconds: settings.intervalSeconds))
        }
        guard deployment.launch != nil,
              let executable = DeploymentLauncher.resolve(settings.nvidiaSMI ?? "nvidia-smi",
                                                          path: ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        else { return nil }
        return .nvidiaSMI(NvidiaSMISampler(target: deployment.name, executable: executable, gpuIDs: deployment.gpuIDs,
                                           intervalMs: Int(settings.intervalSeconds * 1000), directory: directory))
    }

    func start() async {
        switch self {
        case .dcgm(let scraper): await scraper.start()
        case .nvidiaSMI(let sampler): sampler.start()
        }
    }

    func finish(epochNs: UInt64) async -> GPUTelemetry {
        switch self {
        case .dcgm(let scraper): return await scraper.finish(epochNs: epochNs)
        case .nvidiaSMI(let sampler): return sampler.finish(epochNs: epochNs)
        }
    }

    func cancel() {
        switch self {
        case .dcgm(let scraper): scraper.cancel()
        case .nvidiaSMI(let sampler): sampler.cancel()
        }
    }
}
