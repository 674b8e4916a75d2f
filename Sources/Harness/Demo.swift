import Foundation
import LatencyModel
import MockServer
import Metrics
import Report
import Workload

/// `tpbench demo`: the published TP=4-vs-TP=1 experiment, offline. Starts built-in mock deployments of
/// Qwen3-30B-A3B on H200 (TP=1; TP=4 over a degraded PCIe path, the published setup; TP=4 over NVLink) on free
/// loopback ports, one at a time, runs the seed workload against each and writes the comparison.
package enum Demo {
    /// Example on-demand price per H200 GPU-hour, for the cost columns (override with --cost-per-gpu-hour).
    package static let defaultCostPerGPUHour = 3.5

    package struct SimulatedDeployment: Sendable {
        package var spec: DeploymentSpec
        package var replicaSpec: ReplicaSpec
    }

    package static func deployments(costPerGPUHour: Double) -> [SimulatedDeployment] {
        func make(_ name: String, tp: Int, link: LinkSpec, label: String) -> SimulatedDeployment {
            var replicaSpec = ReplicaSpec(model: .qwen3_30b_a3b, gpu: .h200, tensorParallel: tp, link: link)
            replicaSpec.stepJitter = 0
            let spec = DeploymentSpec(name: name, urls: [], tensorParallel: tp, gpus: tp, gpu: "H200",
                                      interconnect: tp == 1 ? "none" : label, costPerGPUHour: costPerGPUHour,
                                      labels: ["source": "tpbench mock (simulated)"])
            return SimulatedDeployment(spec: spec, replicaSpec: replicaSpec)
        }
        return [
            make("tp1", tp: 1, link: .nvlink4, label: "none"),
            make("tp4-pcie-degraded", tp: 4, link: .pcieDegraded, label: "pcie-degraded"),
            make("tp4-nvlink", tp: 4, link: .nvlink4, label: "nvlink4"),
        ]
    }

    /// Scales the seed workload so the demo stays short: one burst of 100 requests (the published concurrency).
    package static func scaled(_ workload: WorkloadSpec, full: Bool) -> WorkloadSpec {
        guard !full else { return workload }
        var spec = workload
        let concurrency = spec.load.concurrency ?? 100
        spec.load.requests = concurrency
        spec.load.warmupRequests = 0
        spec.load.durationS = nil
        return spec
    }

    package static func run(workload: WorkloadSpec, full: Bool, costPerGPUHour: Double = defaultCostPerGPUHour,
                           directory: URL, options: RunSession.Options,
                           announce: @escaping @Sendable (String) -> Void) async throws -> CompareSession.Outcome {
        let plan = deployments(costPerGPUHour: costPerGPUHour)
        let servers = ServerBox()
        let replicaSpecs = Dictionary(uniqueKeysWithValues: plan.map { ($0.spec.name, $0.replicaSpec) })
        return try await CompareSession.run(
            workload: scaled(workload, full: full), deployments: plan.map(\.spec), directory: directory,
            options: options, announce: announce,
            prepare: { spec in
                var configuration = MockConfiguration(replicaSpec: replicaSpecs[spec.name]!)
                configuration.seed = workload.seed
                let server = try await MockServer.start(configuration)
                await servers.set(spec.name, server)
                var live = spec
                live.urls = server.baseURLs
                // The mock's simulated DCGM exporter: GPU utilization, power and energy per deployment.
                live.gpuMetricsURLs = server.baseURLs.map { $0 + "/gpu-metrics" }
                return live
            },
            finish: { spec in
                if let server = await servers.take(spec.name) { try await server.shutdown() }
            })
    }
}

/// Running mock servers by deployment name (touched from the compare loop's prepare/finish hooks).
actor ServerBox {
    private var servers: [String: MockServer] = [:]
    func set(_ name: String, _ server: MockServer) { servers[name] = server }
    func take(_ name: String) -> MockServer? { servers.removeValue(forKey: name) }
}
