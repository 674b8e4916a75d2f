import Foundation
import Testing

/// `launch:` deployments (#18): tpbench starts each server (the real `tpbench mock` here), waits until it is ready,
/// measures, stops it, and leaves nothing running, whatever happens to it or to tpbench.
@Suite(.serialized)
struct LaunchTests {
    /// Processes whose environment says tpbench process `owner` launched them (`TPBENCH_LAUNCHED=<pid>/...`).
    static func launched(by owner: Int32) -> [Int32] {
        let marker = Array("TPBENCH_LAUNCHED=\(owner)/".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            let bytes = [UInt8](data)
            return bytes.split(separator: 0).contains { $0.starts(with: marker) }
        }
    }

    /// A free loopback port with `count - 1` more after it (bound and released; the kernel does not hand recent
    /// ports out again at once).
    static func freePorts(_ count: Int) -> Int {
        for _ in 0..<50 {
            let base = Int.random(in: 20_000...40_000)
            if (0..<count).allSatisfy({ portIsFree(base + $0) }) { return base }
        }
        return 41_000
    }

    static func portIsFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func write(_ text: String, name: String) throws -> URL {
        let dir = temporaryDirectory("launch")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func workload(requests: Int, concurrency: Int, maxTokens: Int) throws -> URL {
        try write("""
            name: launch-test
            api: completions
            prompt: {tokens: 32, calibrate: false}
            output: {max_tokens: \(maxTokens)}
            load: {concurrency: \(concurrency), requests: \(requests)}
            seed: 3
            """, name: "workload.yaml")
    }

    static func mock(_ name: String, port: Int, replicas: Int = 1, ttftMs: Int = 20, itlMs: Int = 5,
                     extra: String = "") -> String {
        """
          - name: \(name)
            tensor_parallel: 1
            gpus: \(replicas)
            cost_per_gpu_hour: 2
            replicas: \(replicas)
            launch:
              command: ["\(CLIProcess.binary.path)", mock, --ttft-ms, "\(ttftMs)", --itl-ms, "\(itlMs)", --port, "{port}"]
              port: \(port)
              ready: {path: /health, timeout_s: 30}
              stop: {signal: SIGTERM, grace_s: 5}
        \(extra)
        """
    }

    /// Starts `tpbench compare` on a deployments file holding `entries` (a small closed-loop workload).
    static func startCompare(_ entries: String, requests: Int, concurrency: Int,
                             maxTokens: Int) throws -> (run: CLIProcess, out: URL) {
        let deployments = try write("deployments:\n" + entries, name: "deployments.yaml")
        let out = temporaryDirectory("launch-out")
        let workload = try workload(requests: requests, concurrency: concurrency, maxTokens: maxTokens)
        let run = try CLIProcess(["compare", "--workload", workload.path, "--deployments", deployments.path,
                                  "--out", out.path, "--quiet"])
        return (run, out)
    }

    /// Runs `tpbench compare` to its end (exit 0 expected) and returns it, its folder and compare.json's launches.
    static func compare(_ entries: String, requests: Int, concurrency: Int, maxTokens: Int,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> (run: CLIProcess, out: URL, launches: [[String: Any]]) {
        let (run, out) = try startCompare(entries, requests: requests, concurrency: concurrency, maxTokens: maxTokens)
        let status = await run.wait(seconds: 120)
        #expect(status == 0, "\(run.stderr)", sourceLocation: sourceLocation)
        expectNoCrash(run.stderr, sourceLocation: sourceLocation)
        let data = try Data(contentsOf: out.appendingPathComponent("compare.json"))
        let compare = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (run, out, try #require(compare["launches"] as? [[String: Any]]))
    }

    /// Two launched deployments, one with two replicas: both are measured, their start-up and version recorded,
    /// requests spread over both replicas, and nothing left running.
    @Test func launchesMeasuresAndStopsEachDeployment() async throws {
        let port = Self.freePorts(3)
        let (run, out, launches) = try await Self.compare(
            Self.mock("one", port: port) + Self.mock("two", port: port + 1, replicas: 2),
            requests: 40, concurrency: 8, maxTokens: 10)
        #expect(launches.map { $0["name"] as? String } == ["one", "two"])
        for launch in launches {
            let seconds = try #require(launch["startupSeconds"] as? Double)
            #expect(seconds > 0 && seconds < 30, "start-up \(seconds) s")
            #expect((launch["serverVersion"] as? String)?.contains("tpbench-mock") == true)
            #expect(launch["failure"] == nil)
        }
        #expect((launches[1]["logFiles"] as? [String]) == ["two/server-1.log", "two/server-2.log"])
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("two/server-2.log").path))
        let result = try Data(contentsOf: out.appendingPathComponent("two/result.json"))
        let summary = try #require((try JSONSerialization.jsonObject(with: result) as? [String: Any])?["summaries"]
                                   as? [[String: Any]]).first
        let perReplica = try #require(summary?["requestsPerReplica"] as? [String: Int])
        #expect(perReplica.count == 2 && perReplica.values.allSatisfy { $0 >= 10 }, "\(perReplica)")
        let report = try String(contentsOf: out.appendingPathComponent("compare.md"), encoding: .utf8)
        #expect(report.contains("## Launched deployments"))
        #expect(Self.launched(by: run.process.processIdentifier).isEmpty)
    }

    /// A deployment that never becomes ready gets a row saying why (and is stopped); the comparison goes on.
    @Test func aDeploymentThatNeverBecomesReadyIsReportedAndStopped() async throws {
        let port = Self.freePorts(2)
        let never = """
              - name: never
                launch:
                  command: [sleep, "600"]
                  port: \(port + 1)
                  ready: {path: /health, timeout_s: 1.5}
                  stop: {grace_s: 1}

            """
        let (run, _, launches) = try await Self.compare(Self.mock("works", port: port) + never,
                                                        requests: 16, concurrency: 4, maxTokens: 5)
        let failure = try #require(launches.first { $0["name"] as? String == "never" }?["failure"] as? String)
        #expect(failure.contains("not ready after 2 s") || failure.contains("not ready after 1 s"), "\(failure)")
        #expect(Self.launched(by: run.process.processIdentifier).isEmpty)
    }

    /// A server that dies mid-run: the run's requests are recorded as failures, the launch record says it exited.
    @Test func aServerThatDiesMidRunIsSaid() async throws {
        let port = Self.freePorts(1)
        let dies = """
              - name: dies
                launch:
                  command: [sh, -c, "'\(CLIProcess.binary.path)' mock --ttft-ms 50 --itl-ms 50 --port {port} & sleep 3; kill -9 $!"]
                  port: \(port)
                  warmup: false
                  ready: {path: /health, timeout_s: 20}

            """
        let (run, out, launches) = try await Self.compare(dies, requests: 24, concurrency: 4, maxTokens: 40)
        let failure = try #require(launches.first?["failure"] as? String)
        #expect(failure.contains("exited with status") && failure.contains("during the run"), "\(failure)")
        let summary = try Data(contentsOf: out.appendingPathComponent("dies/summary.csv"))
        #expect(!summary.isEmpty)
        #expect(Self.launched(by: run.process.processIdentifier).isEmpty)
    }

    /// SIGKILL of tpbench itself, and Ctrl-C: the launched servers are gone within their grace period either way.
    @Test(arguments: [SIGKILL, SIGINT])
    func nothingOutlivesTpbench(signal: Int32) async throws {
        let port = Self.freePorts(2)
        let (run, out) = try Self.startCompare(Self.mock("slow", port: port, replicas: 2, ttftMs: 100, itlMs: 100),
                                               requests: 40, concurrency: 4, maxTokens: 100)
        let owner = run.process.processIdentifier
        // Both replicas (and their supervisors) are up, and the load has begun.
        #expect(await eventually(30) { Self.launched(by: owner).count >= 2
                                        && FileManager.default.fileExists(atPath: out.appendingPathComponent("slow/server-2.log").path) })
        try await Task.sleep(for: .seconds(2))
        let before = Self.launched(by: owner)
        #expect(before.count >= 2, "launched: \(before)")
        run.signal(signal)
        _ = await run.wait(seconds: 20)
        #expect(await eventually(10) { Self.launched(by: owner).isEmpty }, "left running: \(Self.launched(by: owner))")
    }
}
