/// One second of a run, as the client saw it.
public struct TimeSeriesPoint: Sendable, Codable, Equatable {
    /// Start of the bucket, seconds since the run's epoch.
    public var second: Int
    /// Mean requests in flight over the bucket.
    public var inFlight: Double
    public var completions: Int
    public var failures: Int
    public var outputTokensPerSecond: Double
    /// Median TTFT of requests whose first token arrived in this bucket (nil if none).
    public var ttftP50Ms: Double?
}

public enum TimeSeries {
    /// Per-second buckets from the first start to the last completion. Output tokens are spread over the token
    /// events that carried them, so the curve shows when tokens actually arrived.
    public static func compute(records: [RequestRecord]) -> [TimeSeriesPoint] {
        guard let firstStart = records.map(\.startMs).min(), let lastEnd = records.map(\.endMs).max() else { return [] }
        let origin = Int((firstStart / 1000).rounded(.down))
        let buckets = max(1, Int((lastEnd / 1000).rounded(.down)) - origin + 1)
        var inFlightMs = Array(repeating: 0.0, count: buckets)
        var completions = Array(repeating: 0, count: buckets)
        var failures = Array(repeating: 0, count: buckets)
        var tokens = Array(repeating: 0.0, count: buckets)
        var ttfts = Array(repeating: [Double](), count: buckets)
        func bucket(_ ms: Double) -> Int { min(buckets - 1, max(0, Int((ms / 1000).rounded(.down)) - origin)) }

        for record in records {
            // Time in flight, split over the buckets the request spans.
            var t = record.startMs
            while t < record.endMs {
                let b = bucket(t)
                let bucketEnd = Double(b + origin + 1) * 1000
                let segmentEnd = min(record.endMs, bucketEnd)
                inFlightMs[b] += segmentEnd - t
                if bucketEnd <= t { break }
                t = segmentEnd
            }
            let endBucket = bucket(record.endMs)
            if record.succeeded { completions[endBucket] += 1 } else { failures[endBucket] += 1 }
            guard record.succeeded, !record.tokenEventOffsetsMs.isEmpty else { continue }
            if let ttft = record.ttftMs { ttfts[bucket(record.startMs + ttft)].append(ttft) }
            let perEvent = record.tokensPerEvent
            let share = Double(record.outputTokens) / Double(record.tokenEventOffsetsMs.count)
            for (i, offset) in record.tokenEventOffsetsMs.enumerated() {
                let count = perEvent.map { Double($0[i]) } ?? share
                tokens[bucket(record.startMs + offset)] += count
            }
        }
        return (0..<buckets).map { b in
            let sorted = ttfts[b].sorted()
            return TimeSeriesPoint(
                second: b + origin, inFlight: inFlightMs[b] / 1000, completions: completions[b], failures: failures[b],
                outputTokensPerSecond: tokens[b],
                ttftP50Ms: sorted.isEmpty ? nil : Distribution.percentile(sorted, 50))
        }
    }
}
