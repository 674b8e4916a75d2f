import Curl
import Metrics

/// One scrape of NVIDIA's DCGM exporter (Prometheus text), per GPU, in tpbench's vocabulary.
///
/// Names are dcgm-exporter's (its default-counters.csv and dcp-metrics-included.csv): DCGM_FI_DEV_GPU_UTIL (%),
/// DCGM_FI_DEV_POWER_USAGE (W), DCGM_FI_DEV_FB_USED / FB_FREE (MiB), DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (mJ since
/// the driver loaded), DCGM_FI_PROF_PCIE_TX_BYTES and DCGM_FI_PROF_NVLINK_TX_BYTES (bytes/s over the sample period).
/// Where GPU_UTIL is not exported, DCGM_FI_PROF_GR_ENGINE_ACTIVE (a 0–1 ratio) stands in for it.
package enum DCGMReading {
    package struct GPU: Sendable, Equatable {
        package var id: String
        package var model: String?
        package var sample: GPUSample
    }

    static let names: Set<String> = [
        "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_RESERVED", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "DCGM_FI_PROF_PCIE_TX_BYTES", "DCGM_FI_PROF_NVLINK_TX_BYTES",
    ]

    /// The GPUs of one scrape, in the exporter's order. A GPU is named by its `gpu` label (else `device`, else `UUID`);
    /// MIG instances of one GPU add up where that makes sense (link bytes) and the device's own figures win otherwise.
    package static func read(_ exposition: PrometheusExposition) -> [GPU] {
        var order: [String] = []
        var gpus: [String: GPU] = [:]
        var totals: [String: (used: Double?, free: Double?, reserved: Double?)] = [:]
        var engineActive: [String: Double] = [:]
        for sample in exposition.samples where names.contains(sample.name) && sample.value.isFinite {
            guard let id = sample.labels["gpu"] ?? sample.labels["device"] ?? sample.labels["UUID"] else { continue }
            if gpus[id] == nil {
                order.append(id)
                gpus[id] = GPU(id: id, model: sample.labels["modelName"], sample: GPUSample(second: 0))
            }
            let v = sample.value
            switch sample.name {
            case "DCGM_FI_DEV_GPU_UTIL": gpus[id]!.sample.utilizationPct = v
            case "DCGM_FI_PROF_GR_ENGINE_ACTIVE": engineActive[id] = min(100, max(0, v * 100))
            case "DCGM_FI_DEV_POWER_USAGE": gpus[id]!.sample.powerW = v
            case "DCGM_FI_DEV_FB_USED": totals[id, default: (nil, nil, nil)].used = v
            case "DCGM_FI_DEV_FB_FREE": totals[id, default: (nil, nil, nil)].free = v
            case "DCGM_FI_DEV_FB_RESERVED": totals[id, default: (nil, nil, nil)].reserved = v
            case "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": gpus[id]!.sample.energyJ = v / 1000
            case "DCGM_FI_PROF_PCIE_TX_BYTES": gpus[id]!.sample.pcieTxBytesPerS = (gpus[id]!.sample.pcieTxBytesPerS ?? 0) + v
            case "DCGM_FI_PROF_NVLINK_TX_BYTES":
                gpus[id]!.sample.nvlinkTxBytesPerS = (gpus[id]!.sample.nvlinkTxBytesPerS ?? 0) + v
            default: break
            }
        }
        for (id, active) in engineActive where gpus[id]?.sample.utilizationPct == nil {
            gpus[id]?.sample.utilizationPct = active
        }
        for (id, memory) in totals {
            gpus[id]?.sample.memoryUsedMiB = memory.used
            if let used = memory.used, let free = memory.free { gpus[id]?.sample.memoryTotalMiB = used + free + (memory.reserved ?? 0) }
        }
        return order.compactMap { gpus[$0] }
    }
}

/// Reads DCGM exporter scrapes into a `GPUTelemetry` on the run's timeline.
package final class DCGMCollector: ScrapeCollector {
    package let target: String
    package let endpoints: [String]
    private var order: [String] = []
    private var series: [String: GPUSeries] = [:]
    private var pending: [(id: String, sample: GPUSample)] = []
    private var timed: [(ns: UInt64, id: String, sample: GPUSample)] = []
    private var seen: Set<Int> = []
    private var failures: [Int: Int] = [:]
    private var notes: [String] = []

    package init(target: String, endpoints: [String]) {
        self.target = target
        self.endpoints = endpoints
    }

    package func loopFailed(_ error: any Error) {
        notes.append("GPU metrics were not scraped: could not start a curl multi loop (\(error))")
    }

    package func record(index: Int, url: String, result: Result<FetchedResponse, any Error>?) -> Bool {
        let answer = prometheusBody(result)
        var problem = answer.problem
        if let body = answer.body {
            let exposition = PrometheusExposition(parsing: body)
            let gpus = DCGMReading.read(exposition)
            if !gpus.isEmpty {
                seen.insert(index)
                for gpu in gpus {
                    let id = endpoints.count > 1 ? "\(index + 1)#\(gpu.id)" : gpu.id
                    if series[id] == nil {
                        order.append(id)
                        series[id] = GPUSeries(id: id, model: gpu.model)
                    }
                    pending.append((id, gpu.sample))
                }
                return true
            }
            problem = exposition.samples.isEmpty ? "the response is not Prometheus text"
                : "none of its \(exposition.samples.count) series are DCGM GPU fields (DCGM_FI_DEV_GPU_UTIL, "
                    + "DCGM_FI_DEV_POWER_USAGE, …)"
        }
        failures[index, default: 0] += 1
        if !seen.contains(index) && failures[index] == 1 {
            // A wrong URL is not a blip: say so once and stop asking.
            notes.append("no usable GPU metrics at \(url) (\(problem ?? "unknown problem")); is it a DCGM exporter "
                         + "(dcgm-exporter serves :9400/metrics)?")
            return false
        }
        if failures[index] == 1 {
            notes.append("scraping GPU metrics at \(url) failed at least once mid-run (\(problem ?? "unknown problem"))")
        }
        return true
    }

    package func endRound(ns: UInt64) {
        for (id, sample) in pending { timed.append((ns, id, sample)) }
        pending = []
    }

    package func cancelled() -> GPUTelemetry {
        GPUTelemetry(target: target, source: "dcgm", endpoints: endpoints, gpus: [], usage: nil,
                     notes: ["GPU metrics scraping was cancelled"])
    }

    package func build(epochNs: UInt64) -> GPUTelemetry {
        var all = series
        for entry in timed {
            var sample = entry.sample
            sample.second = (Double(entry.ns) - Double(epochNs)) / 1e9
            all[entry.id]?.samples.append(sample)
        }
        return GPUTelemetry(target: target, source: "dcgm", endpoints: endpoints, gpus: order.compactMap { all[$0] },
                            usage: nil, notes: notes)
    }
}

/// GPU telemetry: the scraper that reads DCGM exporters.
package typealias GPUMetricsScraper = Scraper<DCGMCollector>

extension Scraper where Collector == DCGMCollector {
    package convenience init(target: String, gpuEndpoints: [String], headers: [String] = [], insecure: Bool = false,
                            intervalSeconds: Double = 1) {
        self.init(collector: DCGMCollector(target: target, endpoints: gpuEndpoints), endpoints: gpuEndpoints,
                  headers: headers, insecure: insecure, intervalSeconds: intervalSeconds)
    }
}

/// Whether and where to read the GPUs during a run (`--gpu-metrics-url`, `--no-gpu-metrics`, `--nvidia-smi`).
package struct GPUTelemetrySettings: Sendable, Equatable {
    package var enabled: Bool
    /// DCGM exporter URLs given on the command line (`URL` for every deployment, `NAME=URL` for one).
    package var urls: [String]
    /// nvidia-smi to run for launched deployments when no exporter is named; nil: `nvidia-smi` on PATH, if any.
    package var nvidiaSMI: String?
    package var intervalSeconds: Double

    package init(enabled: Bool = true, urls: [String] = [], nvidiaSMI: String? = nil, intervalSeconds: Double = 1) {
        self.enabled = enabled
        self.urls = urls
        self.nvidiaSMI = nvidiaSMI
        self.intervalSeconds = intervalSeconds
    }

    /// The exporters for a deployment: the command line's (named first, then shared), else the deployments file's.
    package func endpoints(deployment: String, configured: [String]) -> [String] {
        let overrides = urls.map(ServerMetricsSettings.split)
        let named = overrides.filter { $0.name != nil && $0.name == deployment }.map(\.url)
        if !named.isEmpty { return named }
        let shared = overrides.filter { $0.name == nil }.map(\.url)
        return shared.isEmpty ? configured : shared
    }
}
