/// One named figure of a target's summary: the name used everywhere (`--fail-on`, the keys of compare.csv and
/// compare.json), its label in reports, its unit, which way is better, and how it derives from the summary.
package struct MetricDefinition: Sendable {
    package let key: String
    package let label: String
    package let unit: String
    package let lowerIsBetter: Bool
    /// False for figures that need GPU telemetry beside the summary (compare has it; a threshold does not).
    package let fromSummaryAlone: Bool
    private let read: @Sendable (TargetSummary, GPUUsage?) -> Double?

    init(_ key: String, _ label: String, _ unit: String, lowerIsBetter: Bool, fromSummaryAlone: Bool = true,
         _ read: @escaping @Sendable (TargetSummary, GPUUsage?) -> Double?) {
        (self.key, self.label, self.unit, self.lowerIsBetter) = (key, label, unit, lowerIsBetter)
        self.fromSummaryAlone = fromSummaryAlone
        self.read = read
    }

    /// The figure for `summary` (and its GPU telemetry, for the GPU figures); nil when the run has none.
    package func value(in summary: TargetSummary, gpu: GPUUsage? = nil) -> Double? { read(summary, gpu) }
}

/// The one table of what a run reports: the per-request distributions (summary.csv's rows, in report order) and the
/// named figures built from them and from the run's rates (`MetricDefinition`). Comparisons, thresholds and the CSV
/// writer read it, so a new metric is one entry here (plus its field in `TargetSummary`, fed by `SummaryBuilder`).
package enum MetricCatalog {
    /// A distribution of per-request (or per-event) values in a summary.
    package struct DistributionMetric: Sendable {
        package let name: String
        package let label: String
        package let unit: String
        /// Whether its statistics are named metrics (`ttft_p95_ms`): the latencies are.
        package let named: Bool
        package let read: @Sendable (TargetSummary) -> Distribution?
        /// Whether a summary lists it (a row with count 0 when it has no values): always, or only for some runs.
        package let listed: @Sendable (TargetSummary) -> Bool

        init(name: String, label: String, unit: String, named: Bool,
             read: @escaping @Sendable (TargetSummary) -> Distribution?,
             listed: @escaping @Sendable (TargetSummary) -> Bool = { _ in true }) {
            (self.name, self.label, self.unit, self.named, self.read, self.listed) = (name, label, unit, named, read, listed)
        }
    }

    /// Every distribution a summary can hold, in report order. The intended-start ones are listed only for open
    /// loops (send lag measured), `connect` only when new connections were measured.
    package static let distributions: [DistributionMetric] = [
        .init(name: "ttft", label: "TTFT", unit: "ms", named: true, read: { $0.ttftMs }),
        .init(name: "itl_event", label: "ITL", unit: "ms", named: true, read: { $0.itlEventMs }),
        .init(name: "itl_token", label: "ITL per token", unit: "ms", named: true, read: { $0.itlTokenMs }),
        .init(name: "tpot", label: "TPOT", unit: "ms", named: true, read: { $0.tpotMs }),
        .init(name: "e2e", label: "E2E", unit: "ms", named: true, read: { $0.e2eMs }),
        .init(name: "tokens_per_event", label: "tokens per event", unit: "tokens", named: false,
              read: { $0.tokensPerEvent }),
        .init(name: "output_tokens", label: "output tokens", unit: "tokens", named: false,
              read: { $0.outputTokensPerRequest }),
        .init(name: "prompt_tokens", label: "prompt tokens", unit: "tokens", named: false,
              read: { $0.promptTokensPerRequest }),
        .init(name: "send_lag", label: "send lag", unit: "ms", named: false, read: { $0.sendLagMs },
              listed: { $0.sendLagMs != nil }),
        .init(name: "ttft_from_intended", label: "TTFT from intended start", unit: "ms", named: false,
              read: { $0.ttftFromIntendedMs }, listed: { $0.sendLagMs != nil }),
        .init(name: "e2e_from_intended", label: "E2E from intended start", unit: "ms", named: false,
              read: { $0.e2eFromIntendedMs }, listed: { $0.sendLagMs != nil }),
        .init(name: "connect", label: "connect", unit: "ms", named: false, read: { $0.connectMs },
              listed: { $0.connectMs != nil }),
    ]

    /// The statistics of a distribution a metric name can end in (`ttft_p99_9_ms`).
    static let statistics: [(suffix: String, label: String, read: @Sendable (Distribution) -> Double)] = [
        ("p50", "p50", { $0.p50 }), ("p90", "p90", { $0.p90 }), ("p95", "p95", { $0.p95 }), ("p99", "p99", { $0.p99 }),
        ("p99_9", "p99.9", { $0.p999 }), ("max", "max", { $0.max }), ("mean", "mean", { $0.mean }),
    ]

    /// Every named metric: each latency statistic, then the rates, shares and GPU figures.
    package static let all: [MetricDefinition] = {
        var all: [MetricDefinition] = []
        for d in distributions where d.named {
            for s in statistics {
                let read = d.read, statistic = s.read
                all.append(MetricDefinition("\(d.name)_\(s.suffix)_\(d.unit)", "\(d.label) \(s.label)", d.unit,
                                            lowerIsBetter: true) { summary, _ in read(summary).map(statistic) })
            }
        }
        return all + [
            MetricDefinition("failure_pct", "failures", "%", lowerIsBetter: true) { s, _ in s.errorRate * 100 },
            MetricDefinition("requests_per_s", "throughput", "req/s", lowerIsBetter: false) { s, _ in s.requestsPerSecond },
            MetricDefinition("output_tokens_per_s", "output throughput", "tok/s", lowerIsBetter: false) { s, _ in
                s.outputTokensPerSecond
            },
            MetricDefinition("goodput_rps", "goodput", "req/s", lowerIsBetter: false) { s, _ in s.goodputRPS },
            MetricDefinition("slo_attainment_pct", "SLO attainment", "%", lowerIsBetter: false) { s, _ in
                s.sloAttainment * 100
            },
            MetricDefinition("schema_valid_pct", "schema-valid", "%", lowerIsBetter: false) { s, _ in
                s.schema.map { $0.validRate * 100 }
            },
            MetricDefinition("failed", "failed requests", "requests", lowerIsBetter: true) { s, _ in Double(s.failed) },
            MetricDefinition("gpu_util_pct", "GPU utilization", "%", lowerIsBetter: false, fromSummaryAlone: false) {
                _, gpu in gpu?.utilizationPct
            },
            MetricDefinition("gpu_power_w", "GPU power (all GPUs)", "W", lowerIsBetter: true, fromSummaryAlone: false) {
                _, gpu in gpu?.powerW
            },
            MetricDefinition("gpu_memory_gib", "GPU memory (fullest GPU)", "GiB", lowerIsBetter: true,
                             fromSummaryAlone: false) { _, gpu in gpu?.memoryUsedGiB },
            MetricDefinition("energy_per_1k_requests_wh", "energy / 1000 requests", "Wh", lowerIsBetter: true,
                             fromSummaryAlone: false) { s, gpu in
                gpu?.energyWhPer1kRequests(requestsPerSecond: s.requestsPerSecond)
            },
            MetricDefinition("energy_per_1m_output_tokens_kwh", "energy / 1M output tokens", "kWh", lowerIsBetter: true,
                             fromSummaryAlone: false) { s, gpu in
                gpu?.energyKWhPer1MOutputTokens(outputTokensPerSecond: s.outputTokensPerSecond)
            },
        ]
    }()

    private static let byKey = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })

    /// The metric of this name, or nil.
    package static func named(_ key: String) -> MetricDefinition? { byKey[key] }
}
