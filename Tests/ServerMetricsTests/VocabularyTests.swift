import Metrics
import Testing

@testable import ServerMetrics

/// Scrapes in each family's own words (names from their docs and source; values made up).
enum VocabularyFixtures {
    static let vllmCurrent = """
        # HELP vllm:num_requests_running Number of requests in model execution batches.
        # TYPE vllm:num_requests_running gauge
        vllm:num_requests_running{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 24.0
        # TYPE vllm:num_requests_waiting gauge
        vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 3.0
        # TYPE vllm:kv_cache_usage_perc gauge
        vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 0.4375
        # TYPE vllm:num_preemptions_total counter
        vllm:num_preemptions_total{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 5.0
        # TYPE vllm:prefix_cache_queries_total counter
        vllm:prefix_cache_queries_total{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 1000.0
        # TYPE vllm:prefix_cache_hits_total counter
        vllm:prefix_cache_hits_total{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 250.0
        # TYPE vllm:time_to_first_token_seconds histogram
        vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="Qwen/Qwen3-30B-A3B"} 10.0
        vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="Qwen/Qwen3-30B-A3B"} 20.0
        vllm:time_to_first_token_seconds_count{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 20.0
        vllm:time_to_first_token_seconds_sum{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 4.0
        vllm:request_queue_time_seconds_count{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 20.0
        vllm:request_queue_time_seconds_sum{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 1.0
        vllm:request_prefill_time_seconds_count{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 20.0
        vllm:request_prefill_time_seconds_sum{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 2.0
        vllm:request_decode_time_seconds_count{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 20.0
        vllm:request_decode_time_seconds_sum{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 60.0
        vllm:inter_token_latency_seconds_count{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 2000.0
        vllm:inter_token_latency_seconds_sum{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 40.0
        vllm:e2e_request_latency_seconds_count{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 20.0
        vllm:e2e_request_latency_seconds_sum{engine="0",model_name="Qwen/Qwen3-30B-A3B"} 66.0
        """

    static let vllmOlder = """
        vllm:num_requests_running{model_name="m"} 2.0
        vllm:num_requests_waiting{model_name="m"} 0.0
        vllm:gpu_cache_usage_perc{model_name="m"} 0.125
        vllm:gpu_prefix_cache_hit_rate{model_name="m"} 0.5
        vllm:num_preemptions_total{model_name="m"} 1.0
        vllm:time_per_output_token_seconds_count{model_name="m"} 100.0
        vllm:time_per_output_token_seconds_sum{model_name="m"} 2.0
        """

    static let sglang = """
        sglang:num_running_reqs{model_name="meta-llama/Llama-3.1-8B-Instruct"} 16.0
        sglang:num_queue_reqs{model_name="meta-llama/Llama-3.1-8B-Instruct"} 4.0
        sglang:token_usage{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.28
        sglang:cache_hit_rate{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0075
        sglang:time_to_first_token_seconds_sum{model_name="meta-llama/Llama-3.1-8B-Instruct"} 3.0
        sglang:time_to_first_token_seconds_count{model_name="meta-llama/Llama-3.1-8B-Instruct"} 10.0
        sglang:queue_time_seconds_sum{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.5
        sglang:queue_time_seconds_count{model_name="meta-llama/Llama-3.1-8B-Instruct"} 10.0
        sglang:e2e_request_latency_seconds_sum{model_name="meta-llama/Llama-3.1-8B-Instruct"} 30.0
        sglang:e2e_request_latency_seconds_count{model_name="meta-llama/Llama-3.1-8B-Instruct"} 10.0
        sglang:prompt_tokens_total{model_name="meta-llama/Llama-3.1-8B-Instruct"} 8.128902e+06
        """

    static let tgi = """
        # TYPE tgi_batch_current_size gauge
        tgi_batch_current_size 9
        # TYPE tgi_queue_size gauge
        tgi_queue_size 2
        # TYPE tgi_request_queue_duration histogram
        tgi_request_queue_duration_bucket{le="0.01"} 3
        tgi_request_queue_duration_bucket{le="+Inf"} 4
        tgi_request_queue_duration_sum 0.2
        tgi_request_queue_duration_count 4
        tgi_request_duration_sum 8
        tgi_request_duration_count 4
        tgi_request_mean_time_per_token_duration_sum 0.1
        tgi_request_mean_time_per_token_duration_count 4
        """

    static let llamacpp = """
        # HELP llamacpp:kv_cache_usage_ratio KV-cache usage. 1 means 100 percent usage.
        # TYPE llamacpp:kv_cache_usage_ratio gauge
        llamacpp:kv_cache_usage_ratio 0.0625
        # TYPE llamacpp:requests_processing gauge
        llamacpp:requests_processing 1
        # TYPE llamacpp:requests_deferred gauge
        llamacpp:requests_deferred 0
        llamacpp:prompt_tokens_total 120
        """
}

@Suite struct VocabularyTests {
    @Test func vllmCurrentNames() {
        let snapshot = ServerSnapshot(PrometheusExposition(parsing: VocabularyFixtures.vllmCurrent))
        #expect(snapshot.family == .vllm)
        #expect(snapshot.running == 24)
        #expect(snapshot.waiting == 3)
        #expect(snapshot.kvCacheUsage == 0.4375)
        #expect(snapshot.preemptions == 5)
        #expect(snapshot.prefixCacheHits == 250)
        #expect(snapshot.prefixCacheQueries == 1000)
        #expect(snapshot.latency[.timeToFirstToken] == HistogramDelta(count: 20, sumSeconds: 4))
        #expect(snapshot.latency[.queue]?.meanMs == 50)
        #expect(snapshot.latency[.prefill]?.meanMs == 100)
        #expect(snapshot.latency[.decode]?.meanMs == 3000)
        #expect(snapshot.latency[.interToken]?.meanMs == 20)
        #expect(snapshot.latency[.endToEnd]?.meanMs == 3300)
    }

    @Test func vllmOlderNames() {
        let snapshot = ServerSnapshot(PrometheusExposition(parsing: VocabularyFixtures.vllmOlder))
        #expect(snapshot.family == .vllm)
        #expect(snapshot.kvCacheUsage == 0.125)
        #expect(snapshot.prefixCacheHitRate == 0.5)
        #expect(snapshot.latency[.interToken]?.meanMs == 20)
        #expect(snapshot.latency[.prefill] == nil)
    }

    @Test func sglangNames() {
        let snapshot = ServerSnapshot(PrometheusExposition(parsing: VocabularyFixtures.sglang))
        #expect(snapshot.family == .sglang)
        #expect(snapshot.running == 16)
        #expect(snapshot.waiting == 4)
        #expect(snapshot.kvCacheUsage == 0.28)
        #expect(snapshot.prefixCacheHitRate == 0.0075)
        #expect(snapshot.latency[.timeToFirstToken]?.meanMs == 300)
        #expect(snapshot.latency[.queue]?.meanMs == 50)
        #expect(snapshot.latency[.endToEnd]?.meanMs == 3000)
    }

    @Test func tgiNames() {
        let snapshot = ServerSnapshot(PrometheusExposition(parsing: VocabularyFixtures.tgi))
        #expect(snapshot.family == .tgi)
        #expect(snapshot.running == 9)
        #expect(snapshot.waiting == 2)
        #expect(snapshot.kvCacheUsage == nil)
        #expect(snapshot.latency[.queue]?.meanMs == 50)
        #expect(snapshot.latency[.endToEnd]?.meanMs == 2000)
        #expect(snapshot.latency[.timeToFirstToken] == nil)
    }

    @Test func llamacppNames() {
        let snapshot = ServerSnapshot(PrometheusExposition(parsing: VocabularyFixtures.llamacpp))
        #expect(snapshot.family == .llamacpp)
        #expect(snapshot.running == 1)
        #expect(snapshot.waiting == 0)
        #expect(snapshot.kvCacheUsage == 0.0625)
        #expect(snapshot.latency.isEmpty)
    }

    @Test func unknownServersHaveNoFamily() {
        let snapshot = ServerSnapshot(PrometheusExposition(parsing: "go_goroutines 12\nhttp_requests_total 3\n"))
        #expect(snapshot.family == nil)
        #expect(snapshot.running == nil)
    }

    @Test func percentValuedUsageIsReadAsAShare() {
        let snapshot = ServerSnapshot(PrometheusExposition(parsing: "vllm:gpu_cache_usage_perc 42.5\n"))
        #expect(snapshot.kvCacheUsage == 0.425)
    }

    @Test func replicasCombine() {
        var a = ServerSnapshot(family: .vllm)
        a.running = 3
        a.kvCacheUsage = 0.2
        a.latency[.queue] = HistogramDelta(count: 2, sumSeconds: 1)
        var b = ServerSnapshot(family: .vllm)
        b.running = 5
        b.kvCacheUsage = 0.7
        b.latency[.queue] = HistogramDelta(count: 3, sumSeconds: 2)
        let combined = ServerSnapshot.combine([a, b])
        #expect(combined.running == 8)
        #expect(combined.kvCacheUsage == 0.7)
        #expect(combined.latency[.queue] == HistogramDelta(count: 5, sumSeconds: 3))
        #expect(combined.waiting == nil)
    }

    @Test func windowIsEndMinusStart() {
        var start = ServerSnapshot(family: .vllm)
        start.latency[.prefill] = HistogramDelta(count: 100, sumSeconds: 10)
        start.latency[.endToEnd] = HistogramDelta(count: 100, sumSeconds: 10)
        start.prefixCacheHits = 100
        start.prefixCacheQueries = 400
        var end = start
        end.latency[.prefill] = HistogramDelta(count: 110, sumSeconds: 12)
        end.latency[.endToEnd] = HistogramDelta(count: 5, sumSeconds: 1)  // restarted mid-run
        end.latency[.queue] = HistogramDelta(count: 10, sumSeconds: 0.5)  // first seen after the baseline
        end.prefixCacheHits = 160
        end.prefixCacheQueries = 500
        let window = ServerMetricsWindow.delta(from: start, to: end)
        #expect(window.prefill == HistogramDelta(count: 10, sumSeconds: 2))
        #expect(window.prefill?.meanMs == 200)
        #expect(window.endToEnd == HistogramDelta(count: 5, sumSeconds: 1))
        #expect(window.queue?.meanMs == 50)
        #expect(window.prefixCacheHitRate == 0.6)
        #expect(window.timeToFirstToken == nil)
    }

    @Test func endpointsFromBaseURLsAndOverrides() {
        let auto = ServerMetricsSettings()
        #expect(auto.endpoints(for: ["http://127.0.0.1:8000", "http://127.0.0.1:8001/v1/", "http://h:1/"])
            == ["http://127.0.0.1:8000/metrics", "http://127.0.0.1:8001/metrics", "http://h:1/metrics"])
        let shared = ServerMetricsSettings(urls: ["http://127.0.0.1:9100/metrics"])
        #expect(shared.endpoints(for: ["http://127.0.0.1:8000"]) == ["http://127.0.0.1:9100/metrics"])
        let named = ServerMetricsSettings(urls: ["tp4=http://127.0.0.1:9104/metrics", "http://127.0.0.1:9100/m"])
        #expect(named.endpoints(for: ["x"], deployment: "tp4") == ["http://127.0.0.1:9104/metrics"])
        #expect(named.endpoints(for: ["x"], deployment: "tp1") == ["http://127.0.0.1:9100/m"])
        #expect(ServerMetricsSettings.split("http://a/b?x=1").name == nil)
    }

    @Test func preemptionsDuringTheRunCountFromTheBaseline() {
        let metrics = ServerSideMetrics(
            target: "t", endpoints: [], family: "vllm",
            samples: [ServerMetricsSample(second: -1.2, preemptions: 40),
                      ServerMetricsSample(second: -0.1, preemptions: 41),
                      ServerMetricsSample(second: 1, preemptions: 45), ServerMetricsSample(second: 2, preemptions: 50)],
            window: nil, notes: [])
        #expect(metrics.preemptionsDuringRun == 9)
    }
}
