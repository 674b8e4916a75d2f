/// What one deployment's GPUs did during a run: a DCGM exporter's scrapes (`--gpu-metrics-url`) or `nvidia-smi`'s
/// samples, per GPU, on the run's timeline, and their summary over the measured window.
///
/// Lives in Metrics, beside `ServerSideMetrics`, because `RunResult` carries it and the reports render it.
package struct GPUTelemetry: Sendable, Codable, Equatable {
    /// The deployment (target) name, as in `RunResult.targets`.
    package var target: String
    /// `dcgm` (a DCGM exporter's Prometheus text) or `nvidia-smi`.
    package var source: String
    /// The URLs scraped, or the nvidia-smi command line.
    package var endpoints: [String]
    package var gpus: [GPUSeries]
    /// The measured window's summary (nil when no sample fell in it).
    package var usage: GPUUsage?
    /// Why something is missing ("no DCGM series at …", "nvidia-smi exited").
    package var notes: [String]

    package init(target: String, source: String, endpoints: [String], gpus: [GPUSeries], usage: GPUUsage?,
                notes: [String]) {
        self.target = target
        self.source = source
        self.endpoints = endpoints
        self.gpus = gpus
        self.usage = usage
        self.notes = notes
    }
}

/// One GPU's samples in time order.
package struct GPUSeries: Sendable, Codable, Equatable {
    /// `0`, `1`, … as the exporter numbers them; `host#0` when several exporters are scraped.
    package var id: String
    /// The device name the exporter gave (`NVIDIA H100 80GB HBM3`), if any.
    package var model: String?
    package var samples: [GPUSample]

    package init(id: String, model: String? = nil, samples: [GPUSample] = []) {
        self.id = id
        self.model = model
        self.samples = samples
    }
}

/// One reading of one GPU. Every figure is optional: exporters are configured with different counter lists.
package struct GPUSample: Sendable, Codable, Equatable {
    /// Seconds since the run's epoch (negative: before the load started).
    package var second: Double
    /// Share of the sample period a kernel was running, percent (DCGM_FI_DEV_GPU_UTIL, utilization.gpu).
    package var utilizationPct: Double?
    /// Power draw, W (DCGM_FI_DEV_POWER_USAGE, power.draw).
    package var powerW: Double?
    /// Framebuffer in use and in all, MiB (DCGM_FI_DEV_FB_USED + FB_FREE, memory.used/memory.total).
    package var memoryUsedMiB: Double?
    package var memoryTotalMiB: Double?
    /// Energy since the driver loaded, J (DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION is in mJ; a counter).
    package var energyJ: Double?
    /// Link throughput, bytes/s, sent by this GPU (DCGM_FI_PROF_PCIE_TX_BYTES, DCGM_FI_PROF_NVLINK_TX_BYTES).
    package var pcieTxBytesPerS: Double?
    package var nvlinkTxBytesPerS: Double?

    package init(second: Double, utilizationPct: Double? = nil, powerW: Double? = nil, memoryUsedMiB: Double? = nil,
                memoryTotalMiB: Double? = nil, energyJ: Double? = nil, pcieTxBytesPerS: Double? = nil,
                nvlinkTxBytesPerS: Double? = nil) {
        self.second = second
        self.utilizationPct = utilizationPct
        self.powerW = powerW
        self.memoryUsedMiB = memoryUsedMiB
        self.memoryTotalMiB = memoryTotalMiB
        self.energyJ = energyJ
        self.pcieTxBytesPerS = pcieTxBytesPerS
        self.nvlinkTxBytesPerS = nvlinkTxBytesPerS
    }
}

/// A deployment's GPUs over the measured window: means over samples and GPUs, totals over GPUs.
package struct GPUUsage: Sendable, Codable, Equatable {
    package var gpus: Int
    /// Seconds the figures cover (the run's measured window).
    package var seconds: Double
    /// Mean utilization over every GPU and sample, percent.
    package var utilizationPct: Double?
    /// The least busy GPU's mean utilization, percent (an idle rank shows here).
    package var minimumUtilizationPct: Double?
    /// Mean power of all GPUs together, W: from the energy counter's growth where exported, else the power gauge.
    package var powerW: Double?
    /// `powerW` × `seconds`, J.
    package var energyJ: Double?
    /// The fullest GPU's highest memory use, and its size, GiB.
    package var memoryUsedGiB: Double?
    package var memoryTotalGiB: Double?
    /// Mean link throughput sent by all GPUs together, GB/s.
    package var pcieTxGBps: Double?
    package var nvlinkTxGBps: Double?

    package init(gpus: Int, seconds: Double) {
        self.gpus = gpus
        self.seconds = seconds
    }

    /// Energy per 1000 requests (Wh) at a measured request rate.
    package func energyWhPer1kRequests(requestsPerSecond: Double?) -> Double? {
        guard let powerW, let rps = requestsPerSecond, rps > 0 else { return nil }
        return powerW / rps * 1000 / 3600
    }

    /// Energy per million output tokens (kWh) at a measured token rate.
    package func energyKWhPer1MOutputTokens(outputTokensPerSecond: Double?) -> Double? {
        guard let powerW, let rate = outputTokensPerSecond, rate > 0 else { return nil }
        return powerW / rate * 1e6 / 3.6e6
    }

    /// The mean of several runs' usage (each figure over the runs that have it); nil for none.
    package static func mean(_ runs: [GPUUsage]) -> GPUUsage? {
        guard let first = runs.first else { return nil }
        var out = GPUUsage(gpus: first.gpus, seconds: runs.reduce(0) { $0 + $1.seconds } / Double(runs.count))
        func average(_ key: KeyPath<GPUUsage, Double?>) -> Double? {
            let values = runs.compactMap { $0[keyPath: key] }
            return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
        }
        out.utilizationPct = average(\.utilizationPct)
        out.minimumUtilizationPct = average(\.minimumUtilizationPct)
        out.powerW = average(\.powerW)
        out.energyJ = average(\.energyJ)
        out.memoryUsedGiB = runs.compactMap(\.memoryUsedGiB).max()
        out.memoryTotalGiB = average(\.memoryTotalGiB)
        out.pcieTxGBps = average(\.pcieTxGBps)
        out.nvlinkTxGBps = average(\.nvlinkTxGBps)
        return out
    }

    /// The samples that describe `[from, to]`: those inside it and the first one after it (an exporter's gauge
    /// covers the period before its sample, so the first sample after the end still tells about the window's end).
    package static func samples(of gpu: GPUSeries, from: Double, to: Double) -> [GPUSample] {
        var inside = gpu.samples.filter { $0.second >= from && $0.second <= to }
        if let next = gpu.samples.first(where: { $0.second > to }) { inside.append(next) }
        return inside
    }

    /// Summarises the samples of `[from, to]` (seconds on the run's timeline; see `samples(of:from:to:)`).
    package static func summarize(_ gpus: [GPUSeries], from: Double, to: Double) -> GPUUsage? {
        let windows = gpus.map { samples(of: $0, from: from, to: to) }
        guard to > from, windows.contains(where: { !$0.isEmpty }) else { return nil }
        var usage = GPUUsage(gpus: gpus.count, seconds: to - from)
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        let perGPUUtil = windows.compactMap { mean($0.compactMap(\.utilizationPct)) }
        usage.utilizationPct = mean(perGPUUtil)
        usage.minimumUtilizationPct = perGPUUtil.min()
        // Power: each GPU's energy counter growth over the span its samples cover, else the mean of its gauge.
        var power: [Double] = []
        for samples in windows {
            let counted = samples.filter { $0.energyJ != nil }
            if let first = counted.first, let last = counted.last, last.second - first.second >= 0.5,
               let e0 = first.energyJ, let e1 = last.energyJ, e1 >= e0 {
                power.append((e1 - e0) / (last.second - first.second))
            } else if let gauge = mean(samples.compactMap(\.powerW)) {
                power.append(gauge)
            }
        }
        if !power.isEmpty {
            usage.powerW = power.reduce(0, +)
            usage.energyJ = usage.powerW.map { $0 * (to - from) }
        }
        var fullest: (used: Double, total: Double?)?
        for samples in windows {
            for s in samples {
                guard let used = s.memoryUsedMiB else { continue }
                if fullest == nil || used > fullest!.used { fullest = (used, s.memoryTotalMiB) }
            }
        }
        usage.memoryUsedGiB = fullest.map { $0.used / 1024 }
        usage.memoryTotalGiB = fullest?.total.map { $0 / 1024 }
        func linkTotal(_ key: KeyPath<GPUSample, Double?>) -> Double? {
            let perGPU = windows.compactMap { mean($0.compactMap { $0[keyPath: key] }) }
            return perGPU.isEmpty ? nil : perGPU.reduce(0, +) / 1e9
        }
        usage.pcieTxGBps = linkTotal(\.pcieTxBytesPerS)
        usage.nvlinkTxGBps = linkTotal(\.nvlinkTxBytesPerS)
        return usage
    }
}
