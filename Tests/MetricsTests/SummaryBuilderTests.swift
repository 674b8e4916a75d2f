import Foundation
import Testing
@testable import Metrics

/// The streaming summary: order-independent, equal to the batch path, and bounded in memory past its limit.
@Suite struct SummaryBuilderTests {
    /// Records with open-loop lags, multi-token events, failures, schema verdicts and new connections.
    static func records(count: Int, seed: UInt64 = 3) -> [RequestRecord] {
        var rng = TestRNG(seed: seed)
        func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * Double(rng.next() >> 11) / Double(1 << 53) }
        return (0..<count).map { id in
            let start = Double(id) * 40 + uniform(0, 5)
            var offsets = [50 + uniform(0, 300)]
            for _ in 0..<(1 + id % 30) { offsets.append(offsets[offsets.count - 1] + 10 + uniform(0, 20)) }
            var record = RequestRecord(
                id: id, target: "t", replica: id % 2 == 0 ? "a" : "b", intendedStartMs: Double(id) * 40,
                startMs: start, e2eMs: offsets[offsets.count - 1] + 1, tokenEventOffsetsMs: offsets,
                tokensPerEvent: offsets.map { _ in 1 + id % 3 }, promptTokens: 100 + id % 7,
                outputTokens: offsets.count * (1 + id % 3), requestedPromptTokens: 100, requestedMaxTokens: 64)
            record.reusedConnection = id % 5 != 0
            record.connectMs = 0.2 + uniform(0, 0.1)
            if id % 11 == 3 {
                record.failure = id % 2 == 0 ? .http5xx : .timeoutIdle
                record.failureMessage = "failure of request \(id)"
            } else if id % 9 == 0 {
                record.schemaVerdict = id % 4 == 0 ? .schemaViolation : .valid
            }
            return record
        }
    }

    @Test func streamingInAnyOrderEqualsTheBatchSummary() {
        let records = Self.records(count: 600)
        let slo = SLO(ttftMs: 250, itlMs: 22)
        let batch = Aggregator.summarize(target: "t", records: records, slo: slo)
        var shuffled = records
        var rng = TestRNG(seed: 99)
        shuffled.shuffle(using: &rng)
        var builder = SummaryBuilder(target: "t", slo: slo)
        for record in shuffled { builder.add(record) }
        #expect(builder.summary == batch)
        var inOrder = SummaryBuilder(target: "t", slo: slo)
        inOrder.add(contentsOf: records)
        #expect(builder.histograms == inOrder.histograms)
        // Time series sums floating-point time in flight, so a different order may change the last bit only.
        let streamed = builder.timeSeries, batchSeries = TimeSeries.compute(records: records)
        #expect(streamed.count == batchSeries.count)
        for (a, b) in zip(streamed, batchSeries) {
            #expect(a.second == b.second && a.completions == b.completions && a.failures == b.failures
                    && a.outputTokensPerSecond == b.outputTokensPerSecond && a.ttftP50Ms == b.ttftP50Ms)
            #expect(abs(a.inFlight - b.inFlight) < 1e-9)
        }
        // The samples are the lowest ids, whatever the completion order.
        #expect(batch.failureSamples["http-5xx"] == "failure of request 14")
        #expect(batch.failureSamples["timeout-idle"] == "failure of request 3")
        #expect(batch.requestedPromptTokensMean == 100 && batch.requestedMaxTokensMean == 64)
        #expect(batch.ttftMs?.fromHistogram == nil)
    }

    @Test func pastTheExactLimitPercentilesComeFromTheHistogram() throws {
        var rng = TestRNG(seed: 5)
        // Heavy-tailed latencies from 1 ms to ~5 s.
        let values = (0..<60_000).map { _ in exp(Double(rng.next() >> 11) / Double(1 << 53) * 8.5) }
        var samples = SampleSet(exactLimit: 1_000)
        samples.add(contentsOf: values)
        #expect(samples.overflowed && samples.count == 60_000)
        let estimate = try #require(samples.distribution)
        let exact = try #require(Distribution(values))
        #expect(estimate.fromHistogram == true)
        #expect(estimate.count == exact.count && estimate.min == exact.min && estimate.max == exact.max)
        #expect(abs(estimate.mean - exact.mean) <= exact.mean * 1e-9)
        #expect(abs(estimate.stddev - exact.stddev) <= exact.stddev * 1e-6)
        // Three significant digits: within 0.1% (nearest-rank versus interpolation adds one value's gap at most).
        for (a, b) in zip([estimate.p50, estimate.p90, estimate.p95, estimate.p99, estimate.p999],
                          [exact.p50, exact.p90, exact.p95, exact.p99, exact.p999]) {
            #expect(abs(a - b) <= b * 0.002, "histogram \(a) vs exact \(b)")
        }
        // Up to the limit the summary is exact.
        var small = SampleSet(exactLimit: 1_000)
        small.add(contentsOf: values.prefix(1_000))
        #expect(small.distribution == Distribution(Array(values.prefix(1_000))))
    }

    @Test func aLongRunPastTheLimitStillSummarisesEveryRequest() throws {
        let records = Self.records(count: 3_000)
        var builder = SummaryBuilder(target: "t", exactLimit: 500)
        builder.add(contentsOf: records)
        let exact = Aggregator.summarize(target: "t", records: records)
        let bounded = builder.summary
        #expect(bounded.requests == 3_000 && bounded.failed == exact.failed && bounded.outputTokens == exact.outputTokens)
        let e2e = try #require(bounded.e2eMs), exactE2E = try #require(exact.e2eMs)
        #expect(e2e.fromHistogram == true && e2e.count == exactE2E.count)
        #expect(abs(e2e.p99 - exactE2E.p99) <= exactE2E.p99 * 0.002)
        let itl = try #require(bounded.itlEventMs), exactITL = try #require(exact.itlEventMs)
        #expect(itl.count == exactITL.count && abs(itl.p50 - exactITL.p50) <= exactITL.p50 * 0.002)
        #expect(bounded.goodputRPS == exact.goodputRPS && bounded.timeSeriesIndependent(of: exact))
    }
}

extension TargetSummary {
    /// Rates and time-series-derived figures do not depend on the exact-sample limit.
    func timeSeriesIndependent(of other: TargetSummary) -> Bool {
        peakOutputTokensPerSecond == other.peakOutputTokensPerSecond && durationS == other.durationS
            && requestsPerReplica == other.requestsPerReplica
    }
}

/// A 64-bit linear congruential generator (Knuth's MMIX constants), high bits only: deterministic test data.
struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (state >> 32) << 32 | (state &* 0x9E37_79B9_7F4A_7C15) >> 32
    }
}
