import CCurl
import Curl
import Foundation
import JSON
import LoadGen
import Metrics
import Workload

/// A deployment tpbench started itself (`launch:` in the deployments file): its replicas' processes, how long it took
/// to become ready, and what it said about itself.
package final class LaunchedDeployment: @unchecked Sendable {
    package let spec: DeploymentSpec
    let processes: [LaunchedProcess]
    package let startupSeconds: Double
    package let serverVersion: String?

    init(spec: DeploymentSpec, processes: [LaunchedProcess], startupSeconds: Double, serverVersion: String?) {
        self.spec = spec
        self.processes = processes
        self.startupSeconds = startupSeconds
        self.serverVersion = serverVersion
    }

    /// A replica that has exited, with its status (a server dying mid-run is said in the comparison).
    package var exited: (replica: Int, status: Int)? {
        for (i, p) in processes.enumerated() { if let status = p.exitStatus() { return (i, status) } }
        return nil
    }

    /// A replica that has exited or exits within `seconds`. A run against a server that died ends as soon as its
    /// last requests are refused, which can be before the server's process (and its supervisor) is gone.
    package func exited(within seconds: Double) async -> (replica: Int, status: Int)? {
        let deadline = MonotonicClock.now() &+ UInt64(max(0, seconds) * 1e9)
        while true {
            if let died = exited { return died }
            if MonotonicClock.now() >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Stops every replica (signal, grace, then SIGKILL of its process group) and waits for them.
    package func stop() { DeploymentLauncher.stop(processes) }

    package func record() -> LaunchRecord {
        var record = LaunchRecord(name: spec.name, commandLine: DeploymentLauncher.display(processes.first?.argv ?? []),
                                  replicas: processes.count, logFiles: processes.map(\.logName))
        record.startupSeconds = startupSeconds
        record.serverVersion = serverVersion
        record.logTail = processes.first.map { DeploymentLauncher.tail(of: $0.logPath) } ?? []
        return record
    }
}

/// One launched replica: its supervisor (`tp_launch` in CCurl's shim) and the pipe that tells it to stop.
final class LaunchedProcess: @unchecked Sendable {
    let supervisor: Int32
    private var control: Int32
    let argv: [String]
    let logPath: String
    let logName: String
    private var status: Int?
    private let lock = NSLock()

    init(supervisor: Int32, control: Int32, argv: [String], logPath: String, logName: String) {
        self.supervisor = supervisor
        self.control = control
        self.argv = argv
        self.logPath = logPath
        self.logName = logName
    }

    /// The exit status once the server (and so its supervisor) ended; nil while it runs.
    func exitStatus(block: Bool = false) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        let code = tp_reap(supervisor, block ? 1 : 0)
        if code >= 0 { status = Int(code) } else if code == -2 { status = -1 }
        return status
    }

    /// Asks the supervisor to stop the server's group (closing the pipe is the request).
    func requestStop() {
        lock.lock()
        defer { lock.unlock() }
        if control >= 0 {
            close(control)
            control = -1
        }
    }
}

/// Why a deployment could not be started: said in its row of the comparison, which goes on without it.
package struct LaunchFailure: Error, Sendable, CustomStringConvertible {
    package var name: String
    package var reason: String
    package var logTail: [String]
    package var description: String { "deployment '\(name)' did not start: \(reason)" }
}

/// Starts deployments described by `launch:`, waits until they are ready, and stops them.
package enum DeploymentLauncher {
    /// Environment variable set in every launched process: "<tpbench pid>/<deployment>/<replica>", so a test (or a
    /// person) can find what tpbench started.
    package static let markerVariable = "TPBENCH_LAUNCHED"

    /// Launches every replica of `spec`, with logs in `directory`, then waits for each to answer its ready check (and
    /// the warm-up request). Throws `LaunchFailure` (after stopping what it started) when a replica exits or the
    /// check times out.
    package static func launch(_ spec: DeploymentSpec, directory: URL, reportDirectory: URL? = nil, loop: MultiLoop,
                              announce: @Sendable (String) -> Void = { _ in }) async throws -> LaunchedDeployment {
        guard let launch = spec.launch else {
            throw LaunchFailure(name: spec.name, reason: "has no launch: section", logTail: [])
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let started = MonotonicClock.now()
        var processes: [LaunchedProcess] = []
        do {
            for replica in 0..<spec.replicas {
                processes.append(try spawn(spec, launch: launch, replica: replica, directory: directory,
                                           reportDirectory: reportDirectory ?? directory))
            }
        } catch {
            stop(processes)
            throw error
        }
        announce("launched \(spec.name): \(display(processes[0].argv))"
                 + (spec.replicas > 1 ? " (\(spec.replicas) replicas)" : "") + "; waiting for \(launch.readyPath) …")
        do {
            for (replica, process) in processes.enumerated() {
                try await waitUntilReady(spec, launch: launch, url: spec.urls[replica], process: process, loop: loop,
                                         startedAt: started)
            }
            if launch.warmup {
                for (replica, url) in spec.urls.enumerated() {
                    try await warmUp(spec, url: url, process: processes[replica], loop: loop)
                }
            }
        } catch {
            stop(processes)
            throw error
        }
        let seconds = Double(MonotonicClock.now() - started) / 1e9
        let version = await serverVersion(url: spec.urls[0], loop: loop)
        announce(String(format: "%@ ready after %.1f s", spec.name, seconds) + (version.map { " (version \($0))" } ?? ""))
        return LaunchedDeployment(spec: spec, processes: processes, startupSeconds: seconds, serverVersion: version)
    }

    /// Stops processes: every stop is requested first (the replicas wind down together), then each is waited for.
    static func stop(_ processes: [LaunchedProcess]) {
        for process in processes { process.requestStop() }
        for process in processes { _ = process.exitStatus(block: true) }
    }

    static func substitute(_ text: String, port: Int, replica: Int, gpus: String, name: String) -> String {
        text.replacingOccurrences(of: "{port}", with: String(port))
            .replacingOccurrences(of: "{replica}", with: String(replica))
            .replacingOccurrences(of: "{gpus}", with: gpus)
            .replacingOccurrences(of: "{name}", with: name)
    }

    /// The GPUs of replica `replica`: its equal slice of `gpu_ids`, as CUDA_VISIBLE_DEVICES spells them.
    static func gpus(of spec: DeploymentSpec, replica: Int) -> String? {
        guard let ids = spec.gpuIDs, !ids.isEmpty else { return nil }
        let per = ids.count / spec.replicas
        return ids[(replica * per)..<((replica + 1) * per)].map(String.init).joined(separator: ",")
    }

    private static func spawn(_ spec: DeploymentSpec, launch: LaunchSpec, replica: Int,
                              directory: URL, reportDirectory: URL) throws -> LaunchedProcess {
        let port = launch.port + replica
        let gpus = gpus(of: spec, replica: replica)
        let argv = launch.command.map { substitute($0, port: port, replica: replica, gpus: gpus ?? "", name: spec.name) }
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in launch.environment {
            environment[key] = substitute(value, port: port, replica: replica, gpus: gpus ?? "", name: spec.name)
        }
        if let gpus { environment["CUDA_VISIBLE_DEVICES"] = gpus }
        environment[markerVariable] = "\(getpid())/\(spec.name)/\(replica)"
        guard let executable = resolve(argv[0], path: environment["PATH"] ?? "/usr/bin:/bin") else {
            throw LaunchFailure(name: spec.name, reason: "'\(argv[0])' is not an executable file or on PATH; give its "
                                + "full path in launch.command", logTail: [])
        }
        let fileName = spec.replicas > 1 ? "server-\(replica + 1).log" : "server.log"
        let logPath = directory.standardizedFileURL.appendingPathComponent(fileName).path
        let base = reportDirectory.standardizedFileURL.path + "/"
        let logName = logPath.hasPrefix(base) ? String(logPath.dropFirst(base.count)) : logPath
        let signal = LaunchSpec.signals[launch.stopSignal] ?? 15
        let graceMs = Int32(min(3_600_000, max(0, launch.graceS * 1000)))
        switch start(executable: executable, argv: argv, environment: environment, directory: launch.directory,
                     logPath: logPath, logName: logName, stopSignal: signal, graceMs: graceMs) {
        case .success(let process): return process
        case .failure(let problem): throw LaunchFailure(name: spec.name, reason: problem.text, logTail: [])
        }
    }

    struct StartProblem: Error { var text: String }

    /// Starts one process under `tp_launch`'s supervisor with stdout and stderr in `logPath` (truncated).
    static func start(executable: String, argv: [String], environment: [String: String], directory: String?,
                      logPath: String, logName: String, stopSignal: Int32, graceMs: Int32)
        -> Result<LaunchedProcess, StartProblem> {
        let logFD = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { return .failure(StartProblem(text: "cannot write its log \(logPath) (errno \(errno))")) }
        defer { close(logFD) }
        var control: Int32 = -1
        let pid = withCStrings(argv) { argvPointer in
            withCStrings(environment.map { "\($0.key)=\($0.value)" }.sorted()) { envPointer in
                tp_launch(executable, argvPointer, envPointer, directory, logFD, stopSignal, graceMs, &control)
            }
        }
        guard pid > 0 else { return .failure(StartProblem(text: "could not start a process (errno \(-pid))")) }
        return .success(LaunchedProcess(supervisor: pid, control: control, argv: argv, logPath: logPath, logName: logName))
    }

    /// GETs the ready path every 250 ms until it answers the expected status; fails when the process exits first or
    /// the timeout (counted from the launch) passes.
    private static func waitUntilReady(_ spec: DeploymentSpec, launch: LaunchSpec, url: String, process: LaunchedProcess,
                                       loop: MultiLoop, startedAt: UInt64) async throws {
        let deadline = startedAt + UInt64(launch.readyTimeoutS * 1e9)
        var lastAnswer = "no answer yet"
        while true {
            if let status = process.exitStatus() {
                throw LaunchFailure(name: spec.name, reason: "exited with status \(status) before it was ready "
                                    + "(log: \(process.logName))", logTail: tail(of: process.logPath))
            }
            let request = TransferRequest(url: url + launch.readyPath, method: "GET",
                                          timeouts: Timeouts(connectMs: 1000, firstTokenMs: nil, idleMs: 5000, totalMs: 5000))
            if let response = try? await loop.fetch(request, maxBytes: 1 << 16) {
                if response.status == launch.readyStatus { return }
                lastAnswer = "last answer HTTP \(response.status)"
            }
            if MonotonicClock.now() > deadline {
                throw LaunchFailure(name: spec.name, reason: String(format: "not ready after %.0f s (GET %@%@: %@); "
                                    + "raise launch.ready.timeout_s if it is still loading", launch.readyTimeoutS, url,
                                    launch.readyPath, lastAnswer), logTail: tail(of: process.logPath))
            }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
    }

    /// One short completion for the first model the server lists.
    private static func warmUp(_ spec: DeploymentSpec, url: String, process: LaunchedProcess,
                               loop: MultiLoop) async throws {
        let timeouts = Timeouts(connectMs: 5000, firstTokenMs: nil, idleMs: 120_000, totalMs: 300_000)
        let models = try? await HTTPFetch.modelIDs(base: url, loop: loop, headers: [], insecure: false, timeouts: timeouts)
        let model = models?.first ?? "default"
        let body = #"{"model":"\#(model)","prompt":"Hello","max_tokens":1}"#
        let request = TransferRequest(url: url + "/v1/completions", body: Array(body.utf8),
                                      headers: ["Content-Type: application/json"], timeouts: timeouts)
        let response = try? await loop.fetch(request, maxBytes: 1 << 20)
        guard let response, response.status == 200 else {
            let said = response.map { "HTTP \($0.status): " + String(decoding: $0.body.prefix(160), as: UTF8.self) }
                ?? "no answer"
            throw LaunchFailure(name: spec.name, reason: "answered its ready check but not a warm-up completion (\(said))",
                                logTail: tail(of: process.logPath))
        }
    }

    /// `GET /version` where the server has it (vLLM: {"version": "0.11.0"}).
    static func serverVersion(url: String, loop: MultiLoop) async -> String? {
        let request = TransferRequest(url: url + "/version", method: "GET",
                                      timeouts: Timeouts(connectMs: 2000, firstTokenMs: nil, idleMs: 5000, totalMs: 5000))
        guard let response = try? await loop.fetch(request, maxBytes: 1 << 16), response.status == 200 else { return nil }
        if let version = (try? JSONValue.parse(bytes: response.body))?["version"]?.stringValue {
            return String(version.prefix(100))
        }
        return nil
    }

    /// The last `lines` lines of a log (at most 64 KiB read).
    package static func tail(of path: String, lines: Int = 20) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 65_536 ? size - 65_536 : 0)
        let data = (try? handle.readToEnd()) ?? Data()
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
            .suffix(lines).map { String($0.prefix(400)) }
    }

    /// An argv as a shell would need it typed.
    package static func display(_ argv: [String]) -> String {
        argv.map { part in
            part.isEmpty || part.contains(where: { " \"'$\\`".contains($0) }) ? "'" + part.replacingOccurrences(of: "'", with: #"'\''"#) + "'" : part
        }.joined(separator: " ")
    }

    static func resolve(_ name: String, path: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `body` with a NULL-terminated C array of the strings.
    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for p in pointers { free(p) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
