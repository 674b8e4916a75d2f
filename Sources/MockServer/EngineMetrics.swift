import Prometheus

/// The Prometheus series one engine exposes on /metrics: vLLM's names with a `model_name` label, plus the
/// mock's own emission lateness.
final class EngineMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let running: Gauge
    let waiting: Gauge
    let kvCacheUsage: Gauge
    let preemptions: Counter
    let promptTokens: Counter
    let generationTokens: Counter
    let requestSuccess: Counter
    let timeToFirstToken: ValueHistogram
    let interTokenLatency: ValueHistogram
    let endToEnd: ValueHistogram
    let queueTime: ValueHistogram
    let iterationTokens: ValueHistogram
    let emissionLateness: ValueHistogram

    init(modelName: String) {
        let labels = [("model_name", modelName)]
        func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
        running = registry.makeGauge(
            descriptor: descriptor("vllm:num_requests_running", "Number of requests in model execution batches."),
            labels: labels)
        waiting = registry.makeGauge(
            descriptor: descriptor("vllm:num_requests_waiting", "Number of requests waiting to be processed."),
            labels: labels)
        kvCacheUsage = registry.makeGauge(
            descriptor: descriptor("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage."),
            labels: labels)
        preemptions = registry.makeCounter(
            descriptor: descriptor("vllm:num_preemptions_total", "Cumulative number of preemption from the engine."),
            labels: labels)
        promptTokens = registry.makeCounter(
            descriptor: descriptor("vllm:prompt_tokens_total", "Number of prefill tokens processed."), labels: labels)
        generationTokens = registry.makeCounter(
            descriptor: descriptor("vllm:generation_tokens_total", "Number of generation tokens processed."),
            labels: labels)
        requestSuccess = registry.makeCounter(
            descriptor: descriptor("vllm:request_success_total", "Count of successfully processed requests."),
            labels: labels)
        let latencyBuckets = [
            0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
            80.0, 160.0, 640.0, 2560.0,
        ]
        timeToFirstToken = registry.makeValueHistogram(
            descriptor: descriptor("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds."),
            labels: labels, buckets: latencyBuckets)
        interTokenLatency = registry.makeValueHistogram(
            descriptor: descriptor("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds."),
            labels: labels,
            buckets: [
                0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
                80.0,
            ])
        let requestBuckets = [
            0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
            960.0, 1920.0, 7680.0,
        ]
        endToEnd = registry.makeValueHistogram(
            descriptor: descriptor("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds."),
            labels: labels, buckets: requestBuckets)
        queueTime = registry.makeValueHistogram(
            descriptor: descriptor(
                "vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request."),
            labels: labels, buckets: requestBuckets)
        iterationTokens = registry.makeValueHistogram(
            descriptor: descriptor("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step."),
            labels: labels, buckets: [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384])
        emissionLateness = registry.makeValueHistogram(
            descriptor: descriptor(
                "tpbench_mock_emission_lateness_seconds",
                "Actual minus scheduled time of each chunk the mock wrote (its own timing error)."),
            labels: labels,
            buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0])
    }

    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
