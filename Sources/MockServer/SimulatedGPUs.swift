import LatencyModel

/// DCGM-exporter series for one replica's GPUs (`GET /gpu-metrics`), derived from the steps its latency model ran:
/// what a DCGM exporter beside a real vLLM would show, so GPU telemetry can be tested and demonstrated offline.
///
/// The model (docs/GPU-TELEMETRY.md says where each number comes from):
/// - a step's time splits into compute/memory (`max(compute, memory)`: kernels run), all-reduce (`communication`)
///   and host overhead (`cpu`: the GPU waits); time between steps is idle;
/// - utilization (DCGM_FI_DEV_GPU_UTIL: share of time a kernel ran) counts compute/memory, and all-reduce only where
///   NCCL's kernels move the data themselves (NVLink, PCIe peer-to-peer). Over host-staged PCIe, TCP or InfiniBand the
///   copy is done by NCCL's proxy thread and the NIC; the GPU is counted busy for `stagedKernelShare` of that time;
/// - power = idle + (TDP − idle) × (0.8 × compute share + 0.3 × communication-kernel share), idle = 20 % of TDP;
/// - memory: vLLM takes `gpu_memory_utilization` of each GPU at start-up and keeps it;
/// - link bytes: a ring all-reduce sends 2(TP−1)/TP of the activations per rank, twice per layer.
struct SimulatedGPUs {
    static let stagedKernelShare = 0.2
    static let idleShareOfTDP = 0.2
    static let computePowerShare = 0.8
    static let communicationPowerShare = 0.3

    let count: Int
    let firstIndex: Int
    let modelName: String
    let tdp: Double
    let memoryTotalMiB: Double
    let memoryUsedMiB: Double
    let overNVLink: Bool
    let kernelShareOfCommunication: Double
    let bytesPerToken: Double
    let startNs: UInt64

    /// Seconds of kernel time and all-reduce, and bytes each GPU sent, since start (per GPU: ranks run in lockstep).
    private var computeSeconds = 0.0
    private var communicationSeconds = 0.0
    private var bytesSent = 0.0
    private var last: (ns: UInt64, compute: Double, communication: Double, bytes: Double)?
    private var gauges = (utilization: 0.0, power: 0.0, txBytesPerS: 0.0)

    init(parameters p: ReplicaSpec, replica: Int, startNs: UInt64) {
        count = p.tensorParallel
        firstIndex = replica * p.tensorParallel
        modelName = "NVIDIA \(p.gpu.displayName) (tpbench mock)"
        tdp = p.gpu.tdpWatts ?? 700
        memoryTotalMiB = p.gpu.memoryBytes / 1_048_576
        memoryUsedMiB = memoryTotalMiB * p.gpuMemoryUtilization
        overNVLink = p.link.name.hasPrefix("nvlink")
        kernelShareOfCommunication = overNVLink || p.link.name.hasSuffix("p2p") && !p.link.name.contains("no-p2p")
            ? 1 : Self.stagedKernelShare
        let tp = Double(p.tensorParallel)
        bytesPerToken = p.tensorParallel > 1
            ? 2 * Double(p.model.layers) * 2 * (tp - 1) / tp * Double(p.model.hidden) * p.model.bytesPerParameter : 0
        self.startNs = startNs
        gauges.power = tdp * Self.idleShareOfTDP
    }

    /// One step of `wallSeconds` (its simulated duration times the time scale).
    mutating func record(_ outcome: StepOutcome, wallSeconds: Double) {
        let b = outcome.breakdown
        let total = b.total
        guard total > 0, wallSeconds > 0 else { return }
        computeSeconds += wallSeconds * max(b.compute, b.memory) / total
        communicationSeconds += wallSeconds * b.communication / total
        bytesSent += bytesPerToken * Double(outcome.workload.tokens)
    }

    /// Power (W) of a GPU computing `compute` and all-reducing `communication` of the time (shares, 0…1).
    private func power(compute: Double, communication: Double) -> Double {
        let idle = tdp * Self.idleShareOfTDP
        return idle + (tdp - idle) * (Self.computePowerShare * compute
            + Self.communicationPowerShare * kernelShareOfCommunication * communication)
    }

    /// The exposition at `now`: gauges over the time since the previous scrape (DCGM's sample period).
    mutating func exposition(now: UInt64) -> String {
        let previous = last ?? (startNs, 0, 0, 0)
        let window = Double(now &- previous.ns) / 1e9
        if window >= 0.2 {
            let compute = min(1, (computeSeconds - previous.compute) / window)
            let communication = min(1 - compute, (communicationSeconds - previous.communication) / window)
            let kernel = min(1, compute + kernelShareOfCommunication * communication)
            gauges.utilization = (kernel * 100).rounded()
            gauges.power = power(compute: compute, communication: communication)
            gauges.txBytesPerS = (bytesSent - previous.bytes) / window
            last = (now, computeSeconds, communicationSeconds, bytesSent)
        }
        let wall = Double(now &- startNs) / 1e9
        let energyMJ = wall > 0
            ? (power(compute: computeSeconds / wall, communication: communicationSeconds / wall) * wall * 1000).rounded() : 0
        let link = overNVLink ? "DCGM_FI_PROF_NVLINK_TX_BYTES" : "DCGM_FI_PROF_PCIE_TX_BYTES"
        let series: [(String, String, String, Double)] = [
            ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", gauges.utilization),
            ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", (gauges.power * 1000).rounded() / 1000),
            ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", memoryUsedMiB.rounded()),
            ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).",
             (memoryTotalMiB - memoryUsedMiB).rounded()),
            ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ).", energyMJ),
            (link, "gauge", "The rate of data transmitted (in B/s).", gauges.txBytesPerS.rounded()),
        ]
        var out = ""
        for (name, type, help, value) in series {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for rank in 0..<count {
                let gpu = firstIndex + rank
                out += "\(name){gpu=\"\(gpu)\",UUID=\"GPU-tpbench-mock-\(gpu)\",device=\"nvidia\(gpu)\","
                    + "modelName=\"\(modelName)\",Hostname=\"tpbench-mock\"} \(ReplicaMetrics.format(value))\n"
            }
        }
        return out
    }
}
