import Metrics

/// The serving stacks whose /metrics names tpbench knows.
package enum ServerFamily: String, Sendable, CaseIterable {
    case vllm, sglang, tgi, llamacpp

    /// Series-name prefix that identifies the family.
    var prefix: String {
        switch self {
        case .vllm: return "vllm:"
        case .sglang: return "sglang:"
        case .tgi: return "tgi_"
        case .llamacpp: return "llamacpp:"
        }
    }

    /// The family with the most series in a scrape (a proxy in front can add its own; the engine dominates).
    package static func detect(_ exposition: PrometheusExposition) -> ServerFamily? {
        var counts: [ServerFamily: Int] = [:]
        for sample in exposition.samples {
            for family in allCases where sample.name.hasPrefix(family.prefix) { counts[family, default: 0] += 1 }
        }
        return counts.max { $0.value < $1.value }?.key
    }

    /// The family's names for each concept; the first name present in a scrape wins (newer names first).
    package var vocabulary: ServerVocabulary {
        switch self {
        case .vllm:
            return ServerVocabulary(
                running: ["vllm:num_requests_running"], waiting: ["vllm:num_requests_waiting"],
                kvCacheUsage: ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"],
                preemptions: ["vllm:num_preemptions_total", "vllm:num_preemptions"],
                prefixCacheHits: ["vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"],
                prefixCacheQueries: ["vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"],
                prefixCacheHitRate: ["vllm:gpu_prefix_cache_hit_rate"],
                latency: [
                    .timeToFirstToken: ["vllm:time_to_first_token_seconds"],
                    .queue: ["vllm:request_queue_time_seconds"],
                    .prefill: ["vllm:request_prefill_time_seconds"],
                    .decode: ["vllm:request_decode_time_seconds"],
                    .interToken: ["vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"],
                    .endToEnd: ["vllm:e2e_request_latency_seconds"],
                ])
        case .sglang:
            return ServerVocabulary(
                running: ["sglang:num_running_reqs"], waiting: ["sglang:num_queue_reqs"],
                kvCacheUsage: ["sglang:token_usage"],
                preemptions: ["sglang:num_retracted_requests_total", "sglang:num_retracted_reqs"],
                prefixCacheHits: [], prefixCacheQueries: [], prefixCacheHitRate: ["sglang:cache_hit_rate"],
                latency: [
                    .timeToFirstToken: ["sglang:time_to_first_token_seconds"],
                    .queue: ["sglang:queue_time_seconds", "sglang:request_queue_time_seconds"],
                    .interToken: ["sglang:inter_token_latency_seconds", "sglang:time_per_output_token_seconds"],
                    .endToEnd: ["sglang:e2e_request_latency_seconds"],
                ])
        case .tgi:
            // TGI has no per-request TTFT/prefill histograms (its prefill timings are per batch).
            return ServerVocabulary(
                running: ["tgi_batch_current_size"], waiting: ["tgi_queue_size"], kvCacheUsage: [],
                preemptions: [], prefixCacheHits: [], prefixCacheQueries: [], prefixCacheHitRate: [],
                latency: [
                    .queue: ["tgi_request_queue_duration"],
                    .interToken: ["tgi_request_mean_time_per_token_duration"],
                    .endToEnd: ["tgi_request_duration"],
                ])
        case .llamacpp:
            return ServerVocabulary(
                running: ["llamacpp:requests_processing"], waiting: ["llamacpp:requests_deferred"],
                kvCacheUsage: ["llamacpp:kv_cache_usage_ratio"], preemptions: [], prefixCacheHits: [],
                prefixCacheQueries: [], prefixCacheHitRate: [], latency: [:])
        }
    }
}

/// Server-side latency histograms in tpbench's vocabulary.
package enum ServerLatencyKind: String, Sendable, CaseIterable {
    case timeToFirstToken, queue, prefill, decode, interToken, endToEnd
}

/// One family's series names per normalised concept.
package struct ServerVocabulary: Sendable {
    package var running: [String]
    package var waiting: [String]
    package var kvCacheUsage: [String]
    package var preemptions: [String]
    package var prefixCacheHits: [String]
    package var prefixCacheQueries: [String]
    package var prefixCacheHitRate: [String]
    package var latency: [ServerLatencyKind: [String]]
}

/// One scrape in tpbench's vocabulary: gauges and counters as read, histograms as cumulative count and sum.
package struct ServerSnapshot: Sendable, Equatable {
    package var family: ServerFamily?
    package var running: Double?
    package var waiting: Double?
    package var kvCacheUsage: Double?
    package var preemptions: Double?
    package var prefixCacheHits: Double?
    package var prefixCacheQueries: Double?
    package var prefixCacheHitRate: Double?
    package var latency: [ServerLatencyKind: HistogramDelta] = [:]

    package init(family: ServerFamily? = nil) { self.family = family }

    /// Reads a scrape with its family's vocabulary (detected when not given). Several label sets of one name
    /// (models, data-parallel engines) are summed, except KV usage, where the fullest one counts.
    package init(_ exposition: PrometheusExposition, family: ServerFamily? = nil) {
        self.init(family: family ?? ServerFamily.detect(exposition))
        guard let vocabulary = self.family?.vocabulary else { return }
        func first(_ names: [String], _ read: (String) -> Double?) -> Double? {
            for name in names { if let value = read(name) { return value } }
            return nil
        }
        running = first(vocabulary.running, exposition.total)
        waiting = first(vocabulary.waiting, exposition.total)
        kvCacheUsage = first(vocabulary.kvCacheUsage, exposition.maximum).map { Self.share($0) }
        preemptions = first(vocabulary.preemptions, exposition.total)
        prefixCacheHits = first(vocabulary.prefixCacheHits, exposition.total)
        prefixCacheQueries = first(vocabulary.prefixCacheQueries, exposition.total)
        prefixCacheHitRate = first(vocabulary.prefixCacheHitRate, exposition.maximum).map { Self.share($0) }
        for (kind, names) in vocabulary.latency {
            for name in names {
                guard let histogram = exposition.histogram(name) else { continue }
                latency[kind] = HistogramDelta(count: histogram.count, sumSeconds: histogram.sum)
                break
            }
        }
    }

    /// Usage gauges are 0…1 by contract, but some builds export percent; 1.5 means 1.5 %, not 150 %.
    static func share(_ value: Double) -> Double { value > 1.0001 ? value / 100 : value }

    /// Combines replicas of one deployment: sums of counts, the fullest KV cache.
    static func combine(_ snapshots: [ServerSnapshot]) -> ServerSnapshot {
        var out = ServerSnapshot(family: snapshots.compactMap(\.family).first)
        func sum(_ key: KeyPath<ServerSnapshot, Double?>) -> Double? {
            let values = snapshots.compactMap { $0[keyPath: key] }
            return values.isEmpty ? nil : values.reduce(0, +)
        }
        out.running = sum(\.running)
        out.waiting = sum(\.waiting)
        out.kvCacheUsage = snapshots.compactMap(\.kvCacheUsage).max()
        out.preemptions = sum(\.preemptions)
        out.prefixCacheHits = sum(\.prefixCacheHits)
        out.prefixCacheQueries = sum(\.prefixCacheQueries)
        out.prefixCacheHitRate = snapshots.compactMap(\.prefixCacheHitRate).max()
        for kind in ServerLatencyKind.allCases {
            let parts = snapshots.compactMap { $0.latency[kind] }
            guard !parts.isEmpty else { continue }
            out.latency[kind] = HistogramDelta(count: parts.reduce(0) { $0 + $1.count },
                                               sumSeconds: parts.reduce(0) { $0 + $1.sumSeconds })
        }
        return out
    }
}
