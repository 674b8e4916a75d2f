import Harness
import Metrics
import Testing

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
    #expect { try Threshold.parse("ttft_p59_ms>800") } throws: { "\($0)".contains("did you mean 'ttft_p50_ms'") }
    #expect(throws: Threshold.ParseError.self) { try Threshold.parse("ttft_p95_ms=800") }
    #expect(throws: Threshold.ParseError.self) { try Threshold.parse("ttft_p95_ms>fast") }
}
