import Foundation
import Metrics

/// One deployment's runs of the same workload (one result per repeat).
package struct DeploymentRuns: Sendable {
    package var description: TargetDescription
    package var summaries: [TargetSummary]
    /// Histograms merged over the repeats (exact HdrHistogram addition).
    package var histograms: [String: LatencyHistogram]
    /// GPU telemetry per repeat, aligned with `summaries` (nil where none was read).
    package var gpuUsage: [GPUUsage?]

    package init(description: TargetDescription, summaries: [TargetSummary], histograms: [String: LatencyHistogram],
                gpuUsage: [GPUUsage?] = []) {
        self.description = description
        self.summaries = summaries
        self.histograms = histograms
        self.gpuUsage = gpuUsage
    }

    /// Each repeat's summary with its GPU telemetry.
    var repeats: [(summary: TargetSummary, gpu: GPUUsage?)] {
        summaries.enumerated().map { ($0.element, $0.offset < gpuUsage.count ? gpuUsage[$0.offset] : nil) }
    }
}

/// A side-by-side comparison of deployments under one workload, with ratios against a baseline, cost, a replica
/// projection for a common GPU budget, and a plain-language verdict. A pure function of the runs.
package struct Comparison: Sendable, Codable, Equatable {
    package static let schemaID = "tpbench.comparison/1"

    package struct Metric: Sendable, Codable, Equatable {
        package var key: String
        package var label: String
        package var unit: String
        package var lowerIsBetter: Bool
    }

    package struct Cell: Sendable, Codable, Equatable {
        /// Mean over repeats.
        package var value: Double?
        /// Half-width of the 95% confidence interval (with ≥ 3 repeats).
        package var ci95: Double?
        /// value / baseline value.
        package var ratio: Double?
        /// "2.8x worse", "35% lower", "about the same" (nil for the baseline).
        package var phrase: String?
        /// Whether the difference from the baseline is significant (Welch's t-test, 5%), with ≥ 3 repeats.
        package var significant: Bool?
        /// A prediction's relative uncertainty (0.05 = ±5 %), from the calibration's residuals (`tpbench plan --preset`).
        package var band: Double?
    }

    package struct Projection: Sendable, Codable, Equatable {
        package var replicas: Int
        package var gpus: Int
        package var requestsPerSecond: Double
        package var outputTokensPerSecond: Double
        package var costPer1kRequests: Double?
    }

    package struct Deployment: Sendable, Codable, Equatable {
        package var name: String
        package var description: TargetDescription
        package var repeats: Int
        /// Metric key → cell.
        package var cells: [String: Cell]
        package var requestsPerSecondPerGPU: Double?
        package var outputTokensPerSecondPerGPU: Double?
        package var costPer1kRequests: Double?
        package var costPer1MOutputTokens: Double?
        package var projection: Projection?
        /// GPU telemetry averaged over the repeats that had it.
        package var gpu: GPUUsage?
    }

    package var schema = Comparison.schemaID
    package var workloadName: String
    package var baseline: String
    package var metrics: [Metric]
    package var deployments: [Deployment]
    /// GPUs each deployment is projected to (the largest GPU count among them).
    package var gpuBudget: Int?
    package var verdict: [String]
    /// Deployment name → interconnect verdict from its NCCL log (`compare --nccl-log`); absent without logs.
    package var interconnect: [String: InterconnectNote]?
    /// The deployments tpbench launched itself (`launch:`), in file order, failed ones included; nil when none was.
    package var launches: [LaunchRecord]?
    /// Set when the figures are a model's prediction (`tpbench plan`), not a measurement: says what predicted them.
    package var prediction: String?

    /// The metrics a comparison shows, in order (their names, labels and units come from `MetricCatalog`).
    package static let standardMetrics: [Metric] = [
        "ttft_p50_ms", "ttft_p95_ms", "ttft_p99_ms", "itl_event_p50_ms", "itl_event_p95_ms", "itl_event_p99_ms",
        "tpot_p50_ms", "tpot_p95_ms", "tpot_p99_ms", "e2e_p50_ms", "e2e_p95_ms", "e2e_p99_ms",
        "requests_per_s", "output_tokens_per_s", "goodput_rps", "failure_pct", "schema_valid_pct",
        "gpu_util_pct", "gpu_power_w", "gpu_memory_gib", "energy_per_1k_requests_wh", "energy_per_1m_output_tokens_kwh",
    ].map { key in
        let definition = MetricCatalog.named(key)!
        return Metric(key: key, label: definition.label, unit: definition.unit, lowerIsBetter: definition.lowerIsBetter)
    }

    static func value(_ key: String, of s: TargetSummary, gpu: GPUUsage? = nil) -> Double? {
        MetricCatalog.named(key)?.value(in: s, gpu: gpu)
    }

    /// Builds the comparison. `baseline` defaults to the first deployment.
    package static func build(workloadName: String, runs: [DeploymentRuns], baseline: String? = nil) -> Comparison {
        let baseName = baseline ?? runs.first?.description.name ?? ""
        let base = runs.first { $0.description.name == baseName } ?? runs.first
        let budget = runs.compactMap { $0.description.gpus ?? $0.description.tensorParallel }.max()
        var deployments: [Deployment] = []
        for run in runs {
            var cells: [String: Cell] = [:]
            for metric in standardMetrics {
                let values = run.repeats.compactMap { value(metric.key, of: $0.summary, gpu: $0.gpu) }.filter(\.isFinite)
                guard !values.isEmpty else { continue }
                let mean = values.reduce(0, +) / Double(values.count)
                var cell = Cell(value: mean, ci95: Statistics.ci95(values))
                if let base, base.description.name != run.description.name {
                    let baseValues = base.repeats.compactMap { value(metric.key, of: $0.summary, gpu: $0.gpu) }
                        .filter(\.isFinite)
                    if !baseValues.isEmpty {
                        let baseMean = baseValues.reduce(0, +) / Double(baseValues.count)
                        cell.ratio = baseMean != 0 ? mean / baseMean : nil
                        cell.phrase = phrase(value: mean, baseline: baseMean, metric: metric)
                        if values.count >= 3 && baseValues.count >= 3 {
                            cell.significant = Statistics.welchSignificant(values, baseValues)
                        }
                    }
                }
                cells[metric.key] = cell
            }
            let gpus = run.description.gpus ?? run.description.tensorParallel
            let rps = cells["requests_per_s"]?.value
            let tokps = cells["output_tokens_per_s"]?.value
            let hourly = run.description.hourlyCost
            var deployment = Deployment(
                name: run.description.name, description: run.description, repeats: run.summaries.count, cells: cells,
                requestsPerSecondPerGPU: gpus.flatMap { g in rps.map { $0 / Double(g) } },
                outputTokensPerSecondPerGPU: gpus.flatMap { g in tokps.map { $0 / Double(g) } },
                costPer1kRequests: costPer(1000, hourly: hourly, perSecond: rps),
                costPer1MOutputTokens: costPer(1_000_000, hourly: hourly, perSecond: tokps))
            deployment.gpu = GPUUsage.mean(run.gpuUsage.compactMap { $0 })
            if let budget, let gpus, gpus > 0, budget % gpus == 0, let rps, let tokps {
                let replicas = budget / gpus
                deployment.projection = Projection(
                    replicas: replicas, gpus: budget, requestsPerSecond: rps * Double(replicas),
                    outputTokensPerSecond: tokps * Double(replicas),
                    costPer1kRequests: costPer(1000, hourly: hourly.map { $0 * Double(replicas) },
                                               perSecond: rps * Double(replicas)))
            }
            deployments.append(deployment)
        }
        var comparison = Comparison(workloadName: workloadName, baseline: base?.description.name ?? baseName,
                                    metrics: standardMetrics, deployments: deployments, gpuBudget: budget, verdict: [])
        comparison.verdict = Verdict.sentences(for: comparison)
        return comparison
    }

    static func costPer(_ units: Double, hourly: Double?, perSecond: Double?) -> Double? {
        guard let hourly, let perSecond, perSecond > 0 else { return nil }
        return hourly / (perSecond * 3600) * units
    }

    /// Phrases a difference the way users speak: latencies as "2.8x worse", rates as "35% lower".
    static func phrase(value: Double, baseline: Double, metric: Metric) -> String {
        guard baseline.isFinite, value.isFinite else { return "n/a" }
        if baseline == 0 && value == 0 { return "same" }
        let ratio = baseline == 0 ? Double.infinity : value / baseline
        if abs(ratio - 1) < 0.02 { return "about the same" }
        if metric.unit == "ms" {
            let worse = ratio > 1
            let factor = worse ? ratio : 1 / ratio
            if factor < 1.5 {
                return String(format: "%.0f%% %@", (factor - 1) * 100, worse ? "worse" : "better")
            }
            return String(format: "%.1fx %@", factor, worse ? "worse" : "better")
        }
        if metric.unit == "%" {
            return String(format: "%+.1f points", value - baseline)
        }
        if ratio >= 2 { return String(format: "%.1fx higher", ratio) }
        return String(format: "%.0f%% %@", abs(ratio - 1) * 100, ratio > 1 ? "higher" : "lower")
    }
}

/// Small statistics for repeated runs.
enum Statistics {
    /// Two-sided 97.5% Student t quantiles for 1…30 degrees of freedom.
    static let t975: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
                                 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]

    static func tQuantile(df: Double) -> Double {
        guard df >= 1 else { return t975[0] }
        let index = Int(df.rounded(.down))
        return index <= 30 ? t975[index - 1] : 1.96
    }

    static func meanAndVariance(_ values: [Double]) -> (Double, Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.count > 1
            ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1) : 0
        return (mean, variance)
    }

    /// Half-width of the 95% confidence interval of the mean; nil below 3 samples.
    static func ci95(_ values: [Double]) -> Double? {
        guard values.count >= 3 else { return nil }
        let (_, variance) = meanAndVariance(values)
        return tQuantile(df: Double(values.count - 1)) * (variance / Double(values.count)).squareRoot()
    }

    /// Welch's two-sample t-test at the 5% level.
    static func welchSignificant(_ a: [Double], _ b: [Double]) -> Bool {
        let (ma, va) = meanAndVariance(a)
        let (mb, vb) = meanAndVariance(b)
        let sa = va / Double(a.count), sb = vb / Double(b.count)
        let se = (sa + sb).squareRoot()
        guard se > 0 else { return ma != mb }
        let t = abs(ma - mb) / se
        let df = (sa + sb) * (sa + sb)
            / ((sa * sa) / Double(a.count - 1) + (sb * sb) / Double(b.count - 1))
        return t > tQuantile(df: df)
    }
}
