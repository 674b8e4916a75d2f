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
                             maxTokens: Int, extra: [String] = []) throws -> (run: CLIProcess, out: URL) {
        let deployments = try write("deployments:\n" + entries, name: "deployments.yaml")
        let out = temporaryDirectory("launch-out")
        let workload = try workload(requests: requests, concurrency: concurrency, maxTokens: maxTokens)
        let run = try CLIProcess(["compare", "--workload", workload.path, "--deployments", deployments.path,
                                  "--out", out.path, "--quiet"] + extra)
        return (run, out)
    }

    /// Runs `tpbench compare` to its end (exit 0 expected) and returns it, its folder and compare.json's launches.
    static func compare(_ entries: String, requests: Int, concurrency: Int, maxTokens: Int, extra: [String] = [],
                        sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> (run: CLIProcess, out: URL, launches: [[String: Any]]) {
        let (run, out) = try startCompare(entries, requests: requests, concurrency: concurrency, maxTokens: maxTokens,
                                          extra: extra)
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

    static func json(_ url: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// Launched latency-model mocks serve the DCGM series their model implies on /gpu-metrics: TP=1 keeps its GPU
    /// busy, TP=4 over host-staged PCIe waits on all-reduce, and the comparison says so with energy per request.
    @Test func launchedMocksReportTheirGPUsAndTheVerdictReadsThem() async throws {
        let port = Self.freePorts(2)
        func modelled(_ name: String, tp: Int, link: String, port: Int) -> String {
            """
              - name: \(name)
                tensor_parallel: \(tp)
                gpus: \(tp)
                interconnect: \(link)
                cost_per_gpu_hour: 3.5
                gpu_metrics_url: "http://127.0.0.1:{port}/gpu-metrics"
                launch:
                  command: ["\(CLIProcess.binary.path)", mock, --tp, "\(tp)", --link, \(link), --time-scale, "0.1", --port, "{port}"]
                  port: \(port)
                  ready: {path: /health, timeout_s: 30}

            """
        }
        let (run, out, _) = try await Self.compare(
            modelled("tp1", tp: 1, link: "nvlink4", port: port) + modelled("tp4", tp: 4, link: "pcie-degraded", port: port + 1),
            requests: 48, concurrency: 16, maxTokens: 200)
        let compare = try Self.json(out.appendingPathComponent("compare.json"))
        let deployments = try #require(compare["deployments"] as? [[String: Any]])
        func cell(_ d: Int, _ key: String) -> Double? {
            ((deployments[d]["cells"] as? [String: Any])?[key] as? [String: Any])?["value"] as? Double
        }
        let tp1 = try #require(cell(0, "gpu_util_pct")), tp4 = try #require(cell(1, "gpu_util_pct"))
        #expect(tp1 >= 70 && tp4 <= 45, "utilization TP=1 \(tp1) %, TP=4 \(tp4) %")
        let energy1 = try #require(cell(0, "energy_per_1k_requests_wh"))
        let energy4 = try #require(cell(1, "energy_per_1k_requests_wh"))
        #expect(energy4 > 2 * energy1, "Wh per 1000 requests: TP=1 \(energy1), TP=4 \(energy4)")
        let gpu4 = try #require(deployments[1]["gpu"] as? [String: Any])
        #expect(gpu4["gpus"] as? Int == 4)
        #expect((gpu4["pcieTxGBps"] as? Double ?? 0) > 0)
        let verdict = try #require(compare["verdict"] as? [String])
        #expect(verdict.contains { $0.hasPrefix("tp4's GPUs were busy") && $0.contains("waiting") }, "\(verdict)")
        let report = try String(contentsOf: out.appendingPathComponent("compare.md"), encoding: .utf8)
        #expect(report.contains("## GPUs"))
        let runReport = try String(contentsOf: out.appendingPathComponent("tp4/report.md"), encoding: .utf8)
        #expect(runReport.contains("NVIDIA H200 SXM (tpbench mock)"))
        #expect(Self.launched(by: run.process.processIdentifier).isEmpty)
    }

    /// Without an exporter, a launched deployment's GPUs are sampled with nvidia-smi (here a stand-in script that
    /// prints its CSV): asked for the deployment's GPUs, read into the result, and stopped with the deployment.
    @Test func nvidiaSMISamplesLaunchedDeploymentsAndIsStopped() async throws {
        let port = Self.freePorts(1)
        let folder = try Self.write("", name: "unused").deletingLastPathComponent()
        let script = folder.appendingPathComponent("nvidia-smi")
        try """
            #!/bin/sh
            echo $$ > "\(folder.path)/pid"
            echo "$@" > "\(folder.path)/args"
            while true; do
              now=$(date '+%Y/%m/%d %H:%M:%S.%3N')
              echo "$now, 0, NVIDIA H100 80GB HBM3, 42, 350.5, 60000, 81559"
              echo "$now, 1, NVIDIA H100 80GB HBM3, 58, 449.5, 61000, 81559"
              sleep 0.2
            done
            """.write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        let entry = Self.mock("sampled", port: port, replicas: 2).replacingOccurrences(
            of: "    replicas: 2\n", with: "    replicas: 2\n    gpu_ids: [0, 1]\n")
        let (run, out, _) = try await Self.compare(entry, requests: 24, concurrency: 4, maxTokens: 100,
                                                   extra: ["--nvidia-smi", script.path])
        let arguments = try String(contentsOf: folder.appendingPathComponent("args"), encoding: .utf8)
        #expect(arguments.contains("-lms 1000 -i 0,1"), "\(arguments)")
        let result = try Self.json(out.appendingPathComponent("sampled/result.json"))
        let telemetry = try #require((result["gpuTelemetry"] as? [[String: Any]])?.first)
        #expect(telemetry["source"] as? String == "nvidia-smi")
        let usage = try #require(telemetry["usage"] as? [String: Any])
        #expect(usage["utilizationPct"] as? Double == 50)
        #expect(usage["minimumUtilizationPct"] as? Double == 42)
        #expect(abs((usage["powerW"] as? Double ?? 0) - 800) < 1e-9)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("sampled/nvidia-smi.csv").path))
        let pid = try #require(Int32(String(contentsOf: folder.appendingPathComponent("pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await eventually(5) { kill(pid, 0) != 0 }, "nvidia-smi (pid \(pid)) outlived its run")
        #expect(Self.launched(by: run.process.processIdentifier).isEmpty)
    }

    /// selfbench's child mock runs under the same supervisor: SIGKILL of selfbench takes it down too.
    @Test func selfbenchsMockDoesNotOutliveIt() async throws {
        let run = try CLIProcess(["selfbench", "--streams", "100", "--seconds", "20", "--repeats", "1", "--no-unpaced"])
        let owner = run.process.processIdentifier
        #expect(await eventually(20) { !Self.launched(by: owner).isEmpty }, "the child mock never appeared")
        run.signal(SIGKILL)
        _ = await run.wait(seconds: 10)
        #expect(await eventually(10) { Self.launched(by: owner).isEmpty }, "left running: \(Self.launched(by: owner))")
    }
}
