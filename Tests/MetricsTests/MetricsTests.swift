import Testing
@testable import Metrics

@Test func percentilesInterpolateLikeNumpy() throws {
    let d = try #require(Distribution((1...100).map(Double.init)))
    #expect(d.p50 == 50.5)
    #expect(abs(d.p90 - 90.1) < 1e-9)
    #expect(abs(d.p99 - 99.01) < 1e-9)
    #expect(d.min == 1 && d.max == 100)
    #expect(d.mean == 50.5)
    #expect(abs(d.stddev - 29.011491975882016) < 1e-9)
    #expect(Distribution([]) == nil)
    #expect(Distribution([7])?.p99 == 7)
}

@Test func derivedRequestMetrics() {
    let record = RequestRecord(id: 0, target: "t", replica: "r", startMs: 1000, e2eMs: 500,
                               tokenEventOffsetsMs: [100, 180, 260, 340, 420, 500],
                               tokensPerEvent: [4, 4, 4, 4, 4, 4], outputTokens: 24)
    #expect(record.ttftMs == 100)
    #expect(record.eventGapsMs == [80, 80, 80, 80, 80])
    #expect(record.tokenGapsMs?.count == 20)
    #expect(record.tokenGapsMs?.allSatisfy { $0 == 20 } == true)
    #expect(abs((record.tpotMs ?? 0) - 400.0 / 23.0) < 1e-9)
    #expect(record.meanTokensPerEvent == 4)
}

@Test func failuresStayInCountsButNotInLatencies() {
    let ok = RequestRecord(id: 0, target: "t", replica: "r", startMs: 0, e2eMs: 1000,
                           tokenEventOffsetsMs: [100, 1000], outputTokens: 2)
    let failed = RequestRecord(id: 1, target: "t", replica: "r", startMs: 0, e2eMs: 5, httpStatus: 500,
                               failure: .http5xx, failureMessage: "HTTP 500: boom")
    let summary = Aggregator.summarize(target: "t", records: [ok, failed])
    #expect(summary.requests == 2 && summary.succeeded == 1 && summary.failed == 1)
    #expect(summary.failures == ["http-5xx": 1])
    #expect(summary.failureSamples["http-5xx"] == "HTTP 500: boom")
    #expect(summary.ttftMs?.count == 1)
    #expect(summary.errorRate == 0.5)
    #expect(summary.durationS == 1)
    #expect(summary.requestsPerSecond == 1)
}

@Test func thresholdsParseAndJudge() throws {
    let list = try Threshold.parseList("ttft_p95_ms>800, error_rate>=0.01,ttft_p99_9_ms>2000,requests_per_s<5")
    #expect(list.count == 4)
    let records = (0..<100).map { i in
        RequestRecord(id: i, target: "t", replica: "r", startMs: Double(i) * 10, e2eMs: 1000,
                      tokenEventOffsetsMs: [Double(i * 10), 1000], outputTokens: 2)
    }
    let s = Aggregator.summarize(target: "t", records: records)
    #expect(list[0].value(in: s) == s.ttftMs?.p95)
    #expect(list[0].violation(in: s) != nil)  // p95 ≈ 940 > 800
    #expect(list[1].violation(in: s) == nil)  // no failures
    #expect(list[2].value(in: s) == s.ttftMs?.p999)
    #expect(throws: Threshold.ParseError.self) { try Threshold.parse("ttft_p95>800") }
    #expect(throws: Threshold.ParseError.self) { try Threshold.parse("ttft_p95_ms=800") }
    #expect(throws: Threshold.ParseError.self) { try Threshold.parse("ttft_p95_ms>fast") }
}
