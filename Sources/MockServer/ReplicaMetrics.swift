/// The Prometheus series one scheduler exposes on /metrics: vLLM's names with a `model_name` label, plus the
/// mock's own emission lateness.
///
/// Written by hand rather than with swift-prometheus: that package pulls in swift-metrics, whose `Metrics`
/// target name collides with ours. Every update and every scrape happens on the scheduler's event loop, so the
/// series need no locks.
final class ReplicaMetrics {
    final class Series {
        let name: String
        let help: String
        let type: String
        var value: Double = 0
        init(_ name: String, _ type: String, _ help: String) {
            self.name = name
            self.type = type
            self.help = help
        }
        func set(_ v: Double) { value = v }
        func increment(by amount: Int64 = 1) { value += Double(amount) }
        func increment() { value += 1 }
    }

    final class BucketCounter {
        let name: String
        let help: String
        let buckets: [Double]
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
        init(_ name: String, _ help: String, buckets: [Double]) {
            self.name = name
            self.help = help
            self.buckets = buckets
            self.counts = [UInt64](repeating: 0, count: buckets.count)
        }
        func record(_ value: Double) {
            sum += value
            count += 1
            // Non-cumulative counts; the exposition accumulates them.
            if let i = buckets.firstIndex(where: { value <= $0 }) { counts[i] += 1 }
        }
    }

    let label: String
    let running: Series
    let waiting: Series
    let kvCacheUsage: Series
    let preemptions: Series
    let promptTokens: Series
    let generationTokens: Series
    let requestSuccess: Series
    let prefixCacheQueries: Series
    let prefixCacheHits: Series
    let timeToFirstToken: BucketCounter
    let interTokenLatency: BucketCounter
    let endToEnd: BucketCounter
    let queueTime: BucketCounter
    let iterationTokens: BucketCounter
    let emissionLateness: BucketCounter

    init(modelName: String) {
        var escaped = ""
        for ch in modelName {
            switch ch {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(ch)
            }
        }
        label = "model_name=\"\(escaped)\""
        running = Series("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.")
        waiting = Series("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.")
        kvCacheUsage = Series("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.")
        preemptions = Series(
            "vllm:num_preemptions_total", "counter", "Cumulative number of preemption from the scheduler.")
        promptTokens = Series("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.")
        generationTokens = Series("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.")
        requestSuccess = Series("vllm:request_success_total", "counter", "Count of successfully processed requests.")
        prefixCacheQueries = Series(
            "vllm:prefix_cache_queries_total", "counter",
            "Prefix cache queries, in terms of number of queried tokens.")
        prefixCacheHits = Series(
            "vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in terms of number of cached tokens.")
        let latencyBuckets = [
            0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
            80.0, 160.0, 640.0, 2560.0,
        ]
        timeToFirstToken = BucketCounter(
            "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", buckets: latencyBuckets)
        interTokenLatency = BucketCounter(
            "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
            buckets: [
                0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
                80.0,
            ])
        let requestBuckets = [
            0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
            960.0, 1920.0, 7680.0,
        ]
        endToEnd = BucketCounter(
            "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", buckets: requestBuckets)
        queueTime = BucketCounter(
            "vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
            buckets: requestBuckets)
        iterationTokens = BucketCounter(
            "vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.",
            buckets: [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384])
        emissionLateness = BucketCounter(
            "tpbench_mock_emission_lateness_seconds",
            "Actual minus scheduled time of each chunk the mock wrote (its own timing error).",
            buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0])
    }

    /// Prometheus text exposition format 0.0.4.
    func exposition() -> String {
        var out = ""
        for s in [running, waiting, kvCacheUsage, preemptions, promptTokens, generationTokens, requestSuccess,
                  prefixCacheQueries, prefixCacheHits] {
            out += "# HELP \(s.name) \(s.help)\n# TYPE \(s.name) \(s.type)\n"
            out += "\(s.name){\(label)} \(Self.format(s.value))\n"
        }
        for h in [timeToFirstToken, interTokenLatency, endToEnd, queueTime, iterationTokens, emissionLateness] {
            out += "# HELP \(h.name) \(h.help)\n# TYPE \(h.name) histogram\n"
            var cumulative: UInt64 = 0
            for (edge, count) in zip(h.buckets, h.counts) {
                cumulative += count
                out += "\(h.name)_bucket{\(label),le=\"\(Self.format(edge))\"} \(cumulative)\n"
            }
            out += "\(h.name)_bucket{\(label),le=\"+Inf\"} \(h.count)\n"
            out += "\(h.name)_sum{\(label)} \(Self.format(h.sum))\n"
            out += "\(h.name)_count{\(label)} \(h.count)\n"
        }
        return out
    }

    static func format(_ v: Double) -> String {
        if v == v.rounded() && abs(v) < 1e15 { return "\(Int(v)).0" }
        return "\(v)"
    }
}
