/// One second of a run, as the client saw it.
package struct TimeSeriesPoint: Sendable, Codable, Equatable {
    /// Start of the bucket, seconds since the run's epoch.
    package var second: Int
    /// Mean requests in flight over the bucket.
    package var inFlight: Double
    package var completions: Int
    package var failures: Int
    package var outputTokensPerSecond: Double
    /// Median TTFT of requests whose first token arrived in this bucket (nil if none).
    package var ttftP50Ms: Double?
}

package enum TimeSeries {
    /// Per-second buckets from the first start to the last completion. Output tokens are spread over the token
    /// events that carried them, so the curve shows when tokens actually arrived.
    package static func compute(records: [RequestRecord]) -> [TimeSeriesPoint] {
        var builder = TimeSeriesBuilder()
        for record in records { builder.add(record) }
        return builder.points
    }
}

/// `TimeSeries` gathered one record at a time; buckets are keyed by absolute second, so records may arrive in
/// any order.
package struct TimeSeriesBuilder: Sendable {
    private struct Bucket: Sendable {
        var inFlightMs = 0.0
        var completions = 0
        var failures = 0
        var tokens = 0.0
        var ttfts: [Double] = []
    }

    private var buckets: [Int: Bucket] = [:]
    private var firstStartMs = Double.infinity
    private var lastEndMs = -Double.infinity

    package init() {}

    private static func second(_ ms: Double) -> Int { Int((ms / 1000).rounded(.down)) }

    package mutating func add(_ record: RequestRecord) {
        firstStartMs = min(firstStartMs, record.startMs)
        lastEndMs = max(lastEndMs, record.endMs)
        // Time in flight, split over the buckets the request spans.
        var t = record.startMs
        while t < record.endMs {
            let b = Self.second(t)
            let bucketEnd = Double(b + 1) * 1000
            let segmentEnd = min(record.endMs, bucketEnd)
            buckets[b, default: Bucket()].inFlightMs += segmentEnd - t
            if bucketEnd <= t { break }
            t = segmentEnd
        }
        let endBucket = Self.second(record.endMs)
        if record.succeeded {
            buckets[endBucket, default: Bucket()].completions += 1
        } else {
            buckets[endBucket, default: Bucket()].failures += 1
        }
        guard record.succeeded, !record.tokenEventOffsetsMs.isEmpty else { return }
        if let ttft = record.ttftMs { buckets[Self.second(record.startMs + ttft), default: Bucket()].ttfts.append(ttft) }
        let perEvent = record.tokensPerEvent
        let share = Double(record.outputTokens) / Double(record.tokenEventOffsetsMs.count)
        for (i, offset) in record.tokenEventOffsetsMs.enumerated() {
            let count = perEvent.map { Double($0[i]) } ?? share
            buckets[Self.second(record.startMs + offset), default: Bucket()].tokens += count
        }
    }

    /// One point per second from the first start's second to the last completion's, empty seconds included.
    package var points: [TimeSeriesPoint] {
        guard firstStartMs <= lastEndMs else { return [] }
        let origin = Self.second(firstStartMs)
        let last = max(origin, Self.second(lastEndMs))
        // Values outside the window (clock quirks) count in its first or last second, as before.
        var merged = Array(repeating: Bucket(), count: last - origin + 1)
        for (second, bucket) in buckets {
            let index = min(last, max(origin, second)) - origin
            merged[index].inFlightMs += bucket.inFlightMs
            merged[index].completions += bucket.completions
            merged[index].failures += bucket.failures
            merged[index].tokens += bucket.tokens
            merged[index].ttfts += bucket.ttfts
        }
        return merged.enumerated().map { index, bucket in
            let sorted = bucket.ttfts.sorted()
            return TimeSeriesPoint(
                second: origin + index, inFlight: bucket.inFlightMs / 1000, completions: bucket.completions,
                failures: bucket.failures, outputTokensPerSecond: bucket.tokens,
                ttftP50Ms: sorted.isEmpty ? nil : Distribution.percentile(sorted, 50))
        }
    }
}
