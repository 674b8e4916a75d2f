/// What one deployment's servers said about themselves during a run (scraped from Prometheus `/metrics`),
/// normalised to one vocabulary whatever the server family (vLLM, SGLang, TGI, llama.cpp).
///
/// Lives in Metrics, not in the scraper's module, because `RunResult` carries it and the report renders it.
package struct ServerSideMetrics: Sendable, Codable, Equatable {
    /// The deployment (target) name, as in `RunResult.targets`.
    package var target: String
    /// The `/metrics` URLs scraped (one per replica).
    package var endpoints: [String]
    /// Detected server family: `vllm`, `sglang`, `tgi`, `llamacpp` (nil when nothing could be read).
    package var family: String?
    /// Scrapes in time order; `second` counts from the run's epoch, the same origin as the client's records.
    package var samples: [ServerMetricsSample]
    /// Latency histograms' change over the run (last scrape minus the last scrape at or before the epoch).
    package var window: ServerLatencyWindow?
    /// Why something is missing ("no /metrics at …", "no prefill histogram").
    package var notes: [String]

    package init(target: String, endpoints: [String], family: String?, samples: [ServerMetricsSample],
                window: ServerLatencyWindow?, notes: [String]) {
        self.target = target
        self.endpoints = endpoints
        self.family = family
        self.samples = samples
        self.window = window
        self.notes = notes
    }

    /// Highest KV-cache usage seen (0…1), nil if the server does not export it.
    package var peakKVCacheUsage: Double? { samples.compactMap(\.kvCacheUsage).max() }
    /// Highest number of running requests seen.
    package var peakRunning: Double? { samples.compactMap(\.running).max() }
    /// Highest number of waiting requests seen.
    package var peakWaiting: Double? { samples.compactMap(\.waiting).max() }

    /// Preemptions counted during the run: the counter's growth from the epoch's baseline to the last scrape.
    package var preemptionsDuringRun: Double? {
        let values = samples.filter { $0.preemptions != nil }
        guard let last = values.last?.preemptions else { return nil }
        let baseline = values.last(where: { $0.second <= 0 })?.preemptions ?? values.first?.preemptions ?? last
        return max(0, last - baseline)
    }
}

/// One scrape, summed over replicas (KV usage: the fullest replica, since that one preempts first).
package struct ServerMetricsSample: Sendable, Codable, Equatable {
    /// Seconds since the run's epoch (negative: before the load started), midpoint of the scrape's request.
    package var second: Double
    package var running: Double?
    package var waiting: Double?
    /// 0…1.
    package var kvCacheUsage: Double?
    /// Cumulative counter since the server started.
    package var preemptions: Double?
    /// Cumulative prefix-cache hits and queries (tokens for vLLM V1), when the server exports counters.
    package var prefixCacheHits: Double?
    package var prefixCacheQueries: Double?
    /// A hit-rate gauge (0…1) for servers that export only that (SGLang, vLLM V0).
    package var prefixCacheHitRate: Double?

    package init(second: Double, running: Double? = nil, waiting: Double? = nil, kvCacheUsage: Double? = nil,
                preemptions: Double? = nil, prefixCacheHits: Double? = nil, prefixCacheQueries: Double? = nil,
                prefixCacheHitRate: Double? = nil) {
        self.second = second
        self.running = running
        self.waiting = waiting
        self.kvCacheUsage = kvCacheUsage
        self.preemptions = preemptions
        self.prefixCacheHits = prefixCacheHits
        self.prefixCacheQueries = prefixCacheQueries
        self.prefixCacheHitRate = prefixCacheHitRate
    }
}

/// A histogram's count and sum of observations (seconds) over a window.
package struct HistogramDelta: Sendable, Codable, Equatable {
    package var count: Double
    package var sumSeconds: Double

    package init(count: Double, sumSeconds: Double) {
        self.count = count
        self.sumSeconds = sumSeconds
    }

    /// Mean observation in milliseconds (nil when nothing was observed).
    package var meanMs: Double? { count > 0 ? sumSeconds / count * 1000 : nil }
}

/// Server-side latency over the run, from histogram deltas; nil members are histograms the server lacks.
package struct ServerLatencyWindow: Sendable, Codable, Equatable {
    package var timeToFirstToken: HistogramDelta?
    package var queue: HistogramDelta?
    package var prefill: HistogramDelta?
    package var decode: HistogramDelta?
    package var interToken: HistogramDelta?
    package var endToEnd: HistogramDelta?
    /// Prefix-cache hit rate over the run (counter deltas, else the last gauge value).
    package var prefixCacheHitRate: Double?

    package init(timeToFirstToken: HistogramDelta? = nil, queue: HistogramDelta? = nil, prefill: HistogramDelta? = nil,
                decode: HistogramDelta? = nil, interToken: HistogramDelta? = nil, endToEnd: HistogramDelta? = nil,
                prefixCacheHitRate: Double? = nil) {
        self.timeToFirstToken = timeToFirstToken
        self.queue = queue
        self.prefill = prefill
        self.decode = decode
        self.interToken = interToken
        self.endToEnd = endToEnd
        self.prefixCacheHitRate = prefixCacheHitRate
    }
}
