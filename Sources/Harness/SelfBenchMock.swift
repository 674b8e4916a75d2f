import Curl
import Foundation
import LatencyModel
import MockServer
import ServerMetrics

/// The mock a self-benchmark runs against: `tpbench mock` as a child process (so the client's CPU and memory are
/// measured alone), or a `MockServer` in this process.
final class SelfBenchMock: @unchecked Sendable {
    let baseURL: String
    let inProcess: Bool
    private let server: MockServer?
    private let process: LaunchedProcess?
    /// The child mock's own pid (its supervisor's child), for its CPU time.
    private let pid: Int32?

    private init(baseURL: String, server: MockServer?, process: LaunchedProcess?, pid: Int32? = nil) {
        self.baseURL = baseURL
        self.server = server
        self.process = process
        self.pid = pid
        inProcess = server != nil
    }

    struct StartFailure: Error, CustomStringConvertible {
        let description: String
    }

    static func start(scenario: SelfBench.Scenario, executable: String?) async throws -> SelfBenchMock {
        guard let executable else {
            var config = MockConfiguration()
            config.fixedLatency = .init(timeToFirstTokenMs: scenario.ttftMs, interTokenLatencyMs: scenario.itlMs)
            let server = try await MockServer.start(config)
            return SelfBenchMock(baseURL: server.baseURLs[0], server: server, process: nil)
        }
        let arguments = ["mock", "--port", "0", "--ttft-ms", "\(scenario.ttftMs)", "--itl-ms", "\(scenario.itlMs)"]
            // Paced scenarios want a punctual server, so that what the client sees late is the client's doing; the
            // mock falls back to normal priority where real-time is not allowed. Unpaced, it would spin at top
            // priority.
            + (scenario.itlMs > 0 ? ["--realtime"] : [])
        // Under the launcher's supervisor, like a launched deployment: the mock never outlives selfbench, however
        // selfbench ends (SIGKILL and crashes included).
        let log = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("tpbench-selfbench-mock-\(UUID()).log")
        let process: LaunchedProcess
        switch DeploymentLauncher.start(executable: executable, argv: [executable] + arguments,
                                        environment: ProcessInfo.processInfo.environment.merging(
                                            [DeploymentLauncher.markerVariable: "\(getpid())/selfbench-mock/0"]) { $1 },
                                        directory: nil,
                                        logPath: log.path, logName: log.lastPathComponent, stopSignal: 15,
                                        graceMs: 5000) {
        case .success(let started): process = started
        case .failure(let problem): throw StartFailure(description: "`\(executable) mock` \(problem.text)")
        }
        defer { try? FileManager.default.removeItem(at: log) }
        // The mock prints "pid: N" and then "listening: http://127.0.0.1:PORT" once bound.
        var text = ""
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, process.exitStatus() == nil {
            text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let pid = value(after: "pid: ", in: text).flatMap(Int32.init), let url = value(after: "listening: ", in: text) {
                return SelfBenchMock(baseURL: url, server: nil, process: process, pid: pid)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        DeploymentLauncher.stop([process])
        throw StartFailure(description: "`\(executable) mock` did not print its address within 10 s (output: "
                           + "\(text.prefix(300))); run it by hand to see why")
    }

    /// The rest of the line after `prefix`, once the line is complete.
    private static func value(after prefix: String, in text: String) -> String? {
        guard let range = text.range(of: prefix), let end = text[range.upperBound...].firstIndex(of: "\n") else { return nil }
        return String(text[range.upperBound..<end])
    }

    /// CPU used so far by a child mock (nil in-process: it is part of this process).
    func cpuNanoseconds() -> UInt64? {
        guard let pid, let text = try? String(contentsOfFile: "/proc/\(pid)/stat",
                                                  encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return (user + system) * 1_000_000_000 / UInt64(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The mock's own emission lateness p99 (ms): from the server in-process, else from its /metrics histogram.
    func latenessP99Ms() async -> Double? {
        if let server { return (await server.emissionLateness().first?.p99).map { $0 * 1000 } }
        // Through libcurl: Foundation's String(contentsOf:) cannot fetch http URLs on Linux.
        guard let loop = try? MultiLoop(index: 0) else { return nil }
        defer { loop.shutdown() }
        let request = TransferRequest(url: baseURL + "/metrics", method: "GET", headers: [],
                                      timeouts: Timeouts(connectMs: 2_000, firstTokenMs: nil, idleMs: 5_000,
                                                         totalMs: 10_000), insecure: false)
        guard let response = try? await loop.fetch(request), response.status == 200 else { return nil }
        let exposition = PrometheusExposition(parsing: String(decoding: response.body, as: UTF8.self))
        guard let lateness = exposition.histogram("tpbench_mock_emission_lateness_seconds"), lateness.count > 0
        else { return nil }
        // Upper bound of the bucket holding the 99th percentile (Prometheus buckets are cumulative).
        return lateness.buckets.first { $0.cumulativeCount >= lateness.count * 0.99 }.map { $0.upperBound * 1000 }
    }

    func stop() async throws {
        if let server { try await server.shutdown() }
        if let process { DeploymentLauncher.stop([process]) }
    }
}
