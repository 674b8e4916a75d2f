import LatencyModel
@testable import MockServer
import ServerMetrics
import Testing

/// The mock's /gpu-metrics: DCGM series derived from the steps its latency model ran (docs/GPU-TELEMETRY.md).
struct SimulatedGPUTests {
    /// Runs 100 requests of 1000 → 50 tokens through the simulator and returns the series at the end of the last
    /// step, read back as a DCGM exporter's, with the totals they should come from.
    static func simulate(tp: Int, link: LinkSpec) throws -> (gpus: [DCGMReading.GPU], wall: Double, compute: Double,
                                                           communication: Double, tokens: Int) {
        let parameters = ReplicaSpec(model: .qwen3_30b_a3b, gpu: .h200, tensorParallel: tp, link: link)
        var simulator = ReplicaSimulator(parameters: parameters)
        for id in 0..<100 { simulator.add(SimulatedRequest(id: id, promptTokens: 1000, outputTokens: 50)) }
        var gpus = SimulatedGPUs(parameters: parameters, replica: 1, startNs: 1_000_000_000)
        var wall = 0.0, compute = 0.0, communication = 0.0, tokens = 0
        while let outcome = simulator.step() {
            gpus.record(outcome, wallSeconds: outcome.duration)
            wall += outcome.duration
            compute += max(outcome.breakdown.compute, outcome.breakdown.memory)
            communication += outcome.breakdown.communication
            tokens += outcome.workload.tokens
        }
        let text = gpus.exposition(now: 1_000_000_000 + UInt64(wall * 1e9))
        return (DCGMReading.read(PrometheusExposition(parsing: text)), wall, compute, communication, tokens)
    }

    @Test(arguments: [(1, LinkSpec.nvlink4), (4, .pcieDegraded), (4, .nvlink4)])
    func seriesFollowTheSteps(tp: Int, link: LinkSpec) throws {
        let run = try Self.simulate(tp: tp, link: link)
        #expect(run.gpus.map(\.id) == (0..<tp).map { String(tp + $0) }, "replica 1's GPUs are numbered after replica 0's")
        let share = link == .nvlink4 ? 1 : SimulatedGPUs.stagedKernelShare
        let busy = run.compute / run.wall, waiting = run.communication / run.wall
        let utilization = ((busy + share * waiting) * 100).rounded()
        let idle = 700 * SimulatedGPUs.idleShareOfTDP
        let power = idle + (700 - idle) * (0.8 * busy + 0.3 * share * waiting)
        for gpu in run.gpus {
            #expect(gpu.model == "NVIDIA H200 SXM (tpbench mock)")
            #expect(gpu.sample.utilizationPct == utilization)
            #expect(abs((gpu.sample.powerW ?? 0) - power) < 0.001)
            #expect(abs((gpu.sample.energyJ ?? 0) - power * run.wall) < 0.01, "energy counter = mean power × time")
            #expect(abs((gpu.sample.memoryUsedMiB ?? 0) - (141e9 / 1_048_576 * 0.9).rounded()) <= 0.5)
            let sent = tp == 1 ? 0 : 2.0 * 48 * 2 * Double(tp - 1) / Double(tp) * 2048 * 2 * Double(run.tokens) / run.wall
            let measured = link == .nvlink4 ? gpu.sample.nvlinkTxBytesPerS : gpu.sample.pcieTxBytesPerS
            #expect(abs((measured ?? -1) - sent) <= max(1, sent * 1e-9), "ring all-reduce bytes per rank: \(measured ?? -1) vs \(sent)")
        }
    }

    /// The write-up's point, in the model: under the same 100 requests, TP=4 over host-staged PCIe leaves its GPUs
    /// mostly idle (they wait on all-reduce), TP=1 keeps its one GPU busy, and NVLink's kernels keep TP=4 busy.
    @Test func tp4OverDegradedPCIeWaitsWhereTp1Works() throws {
        let tp1 = try #require(try Self.simulate(tp: 1, link: .nvlink4).gpus.first?.sample.utilizationPct)
        let degraded = try #require(try Self.simulate(tp: 4, link: .pcieDegraded).gpus.first?.sample.utilizationPct)
        let nvlink = try #require(try Self.simulate(tp: 4, link: .nvlink4).gpus.first?.sample.utilizationPct)
        #expect(tp1 >= 85, "TP=1 \(tp1) %")
        #expect(degraded <= 40, "TP=4 over degraded PCIe \(degraded) %")
        #expect(nvlink > degraded + 20, "TP=4 over NVLink \(nvlink) %")
    }

    /// Before any step the GPUs idle at 20 % of TDP and nothing is sent.
    @Test func idleBeforeTheFirstStep() throws {
        var gpus = SimulatedGPUs(parameters: ReplicaSpec(model: .qwen3_30b_a3b, gpu: .h200), replica: 0,
                                 startNs: 0)
        let read = DCGMReading.read(PrometheusExposition(parsing: gpus.exposition(now: 2_000_000_000)))
        #expect(read.count == 1)
        #expect(read.first?.sample.utilizationPct == 0)
        #expect(read.first?.sample.powerW == 140)
        #expect(read.first?.sample.energyJ == 280)
        #expect(read.first?.sample.nvlinkTxBytesPerS == 0)
    }
}
