import Foundation
import Testing
@testable import Workload

/// `launch:` in a deployments file: the shipped examples parse, and mistakes are errors that say what to write.
struct LaunchSpecTests {
    static let workloads = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Workloads")

    @Test(arguments: ["deployments-launch-mock.yaml", "deployments-launch-vllm.yaml"])
    func theShippedThreeWayComparisonsParse(file: String) throws {
        let list = try DeploymentLoader.load(path: Self.workloads.appendingPathComponent(file).path)
        #expect(list.map(\.name) == ["tp4", "4x-tp1", "2x-tp2"])
        #expect(list.map(\.replicas) == [1, 4, 2])
        // Replica i on port + i, loopback only; each replica its slice of the GPUs.
        let fourByOne = list[1]
        let port = try #require(fourByOne.launch?.port)
        #expect(fourByOne.urls == (0..<4).map { "http://127.0.0.1:\(port + $0)" })
        #expect(list.allSatisfy { $0.gpuIDs == [0, 1, 2, 3] })
        #expect(list.allSatisfy { $0.launch?.readyPath == "/health" && $0.launch?.command.contains("{port}") == true })
        if file.contains("mock") {
            // Each mock serves its simulated DCGM series beside it: one exporter URL per replica.
            #expect(fourByOne.gpuMetricsURLs == (0..<4).map { "http://127.0.0.1:\(port + $0)/gpu-metrics" })
        }
    }

    /// `gpu_metrics_url`: a host-wide exporter stays one URL, a per-replica template expands per replica.
    @Test func gpuMetricsURLsExpandPerReplica() throws {
        let list = try DeploymentLoader.parse("""
            deployments:
              - name: a
                replicas: 2
                gpu_metrics_url: ["http://127.0.0.1:9400/metrics", "http://127.0.0.1:{port}/gpu-metrics"]
                launch: {command: [s], port: 9000}
              - name: b
                urls: [http://127.0.0.1:8000]
                gpu_metrics_url: http://127.0.0.1:9400/metrics
            """)
        #expect(list[0].gpuMetricsURLs == ["http://127.0.0.1:9400/metrics", "http://127.0.0.1:9000/gpu-metrics",
                                          "http://127.0.0.1:9001/gpu-metrics"])
        #expect(list[1].gpuMetricsURLs == ["http://127.0.0.1:9400/metrics"])
    }

    @Test func everyFieldIsRead() throws {
        let list = try DeploymentLoader.parse("""
            deployments:
              - name: a
                replicas: 2
                gpu_ids: [4, 5, 6, 7]
                launch:
                  command: [server, --port, "{port}", --gpus, "{gpus}"]
                  env: {MODE: "replica-{replica}"}
                  cwd: /tmp
                  port: 9000
                  ready: {path: /ready, status: 204, timeout_s: 5}
                  warmup: false
                  stop: {signal: int, grace_s: 2.5}
            """)
        let launch = try #require(list.first?.launch)
        #expect(launch.command == ["server", "--port", "{port}", "--gpus", "{gpus}"])
        #expect(launch.environment == ["MODE": "replica-{replica}"])
        #expect(launch.directory == "/tmp" && launch.port == 9000)
        #expect(launch.readyPath == "/ready" && launch.readyStatus == 204 && launch.readyTimeoutS == 5)
        #expect(!launch.warmup && launch.stopSignal == "SIGINT" && launch.graceS == 2.5)
        #expect(list.first?.urls == ["http://127.0.0.1:9000", "http://127.0.0.1:9001"])
    }

    @Test(arguments: [
        ("launch: {command: [s], port: 9000}\n    urls: [http://127.0.0.1:9000]", "gets its URLs from launch.port"),
        ("replicas: 3\n    gpu_ids: [0, 1, 2, 3]\n    launch: {command: [s], port: 9000}", "do not split evenly over 3"),
        ("launch: {command: \"vllm serve m\", port: 9000}", "must be a list (argv, no shell)"),
        ("launch: {command: [s]}", "needs the port"),
        ("launch: {command: [s], port: 9000, stop: {signal: SIGFOO}}", "'SIGFOO' is not one of"),
        ("launch: {command: [s], port: 80}", "launch.port: must be in 1024...65535"),
        ("replicas: 2\n    urls: [http://127.0.0.1:1]", "apply to launched deployments"),
        ("urls: [http://127.0.0.1:1]\n    gpu_metrics_url: \"http://127.0.0.1:{port}/m\"", "expand only for launched"),
        ("urls: [http://127.0.0.1:1]\n    gpu_metrics_url: 127.0.0.1:9400", "must start with http:// or https://"),
    ])
    func mistakesSayWhatToWrite(body: String, expected: String) {
        let text = "deployments:\n  - name: a\n    " + body + "\n"
        do {
            _ = try DeploymentLoader.parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test func twoLaunchedDeploymentsMayNotShareAPort() {
        let text = """
            deployments:
              - {name: a, replicas: 2, launch: {command: [s], port: 9000}}
              - {name: b, launch: {command: [s], port: 9001}}
            """
        #expect(throws: WorkloadError.self) { _ = try DeploymentLoader.parse(text) }
    }
}
