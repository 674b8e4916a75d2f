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

