/// What one deployment's servers said about themselves during a run (scraped from Prometheus `/metrics`),
/// normalised to one vocabulary whatever the server family (vLLM, SGLang, TGI, llama.cpp).
///
/// Lives in Metrics, not in the scraper's module, because `RunResult` carries it and the report renders it.
public struct ServerSideMetrics: Sendable, Codable, Equatable {
    /// The deployment (target) name, as in `RunResult.targets`.
    public var target: String
    /// The `/metrics` URLs scraped (one per replica).
    public var endpoints: [String]
    /// Detected server family: `vllm`, `sglang`, `tgi`, `llamacpp` (nil when nothing could be read).
    public var family: String?
    /// Scrapes in time order; `second` counts from the run's epoch, the same origin as the client's records.
    public var samples: [ServerMetricsSample]
    /// Latency histograms' change over the run (last scrape minus the last scrape at or before the epoch).
    public var window: ServerLatencyWindow?
    /// Why something is missing ("no /metrics at …", "no prefill histogram").
    public var notes: [String]

    public init(target: String, endpoints: [String], family: String?, samples: [ServerMetricsSample],
                window: ServerLatencyWindow?, notes: [String]) {
        self.target = target
        self.endpoints = endpoints
        self.family = family
        self.samples = samples
        self.window = window
        self.notes = notes
    }

    /// Highest KV-cache usage seen (0…1), nil if the server does not export it.
    public var peakKVCacheUsage: Double? { samples.compactMap(\.kvCacheUsage).max() }
    /// Highest number of running requests seen.
    public var peakRunning: Double? { samples.compactMap(\.running).max() }
    /// Highest number of waiting requests seen.
    public var peakWaiting: Double? { samples.compactMap(\.waiting).max() }

    /// Preemptions counted during the run: the counter's growth from the epoch's baseline to the last scrape.
    public var preemptionsDuringRun: Double? {
        let values = samples.filter { $0.preemptions != nil }
        guard let last = values.last?.preemptions else { return nil }
        let baseline = values.last(where: { $0.second <= 0 })?.preemptions ?? values.first?.preemptions ?? last
        return max(0, last - baseline)
    }
}

/// One scrape, summed over replicas (KV usage: the fullest replica, since that one preempts first).
public struct ServerMetricsSample: Sendable, Codable, Equatable {
    /// Seconds since the run's epoch (negative: before the load started), midpoint of the scrape's request.
    public var second: Double
    public var running: Double?
    public var waiting: Double?
    /// 0…1.
    public var kvCacheUsage: Double?
    /// Cumulative counter since the server started.
    public var preemptions: Double?
    /// Cumulative prefix-cache hits and queries (tokens for vLLM V1), when the server exports counters.
    public var prefixCacheHits: Double?
    public var prefixCacheQueries: Double?
    /// A hit-rate gauge (0…1) for servers that export only that (SGLang, vLLM V0).
    public var prefixCacheHitRate: Double?

    public init(second: Double, running: Double? = nil, waiting: Double? = nil, kvCacheUsage: Double? = nil,
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
public struct HistogramDelta: Sendable, Codable, Equatable {
    public var count: Double
    public var sumSeconds: Double

    public init(count: Double, sumSeconds: Double) {
        self.count = count
        self.sumSeconds = sumSeconds
    }

    /// Mean observation in milliseconds (nil when nothing was observed).
    public var meanMs: Double? { count > 0 ? sumSeconds / count * 1000 : nil }
}

/// Server-side latency over the run, from histogram deltas; nil members are histograms the server lacks.
public struct ServerLatencyWindow: Sendable, Codable, Equatable {
    public var timeToFirstToken: HistogramDelta?
    public var queue: HistogramDelta?
    public var prefill: HistogramDelta?
    public var decode: HistogramDelta?
    public var interToken: HistogramDelta?
    public var endToEnd: HistogramDelta?
    /// Prefix-cache hit rate over the run (counter deltas, else the last gauge value).
    public var prefixCacheHitRate: Double?

    public init(timeToFirstToken: HistogramDelta? = nil, queue: HistogramDelta? = nil, prefill: HistogramDelta? = nil,
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
