import Harness
import Metrics
import Testing

@Test func thresholdsParseAndJudge() throws {
    let list = try Threshold.parseList("ttft_p95_ms>800, failure_pct>=1,ttft_p99_9_ms>2000,requests_per_s<5")
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

/// One name, one unit: percentages are `_pct` in --fail-on as in compare.csv, and the old fraction names say so.
@Test func percentMetricsArePercentEverywhere() throws {
    var records = (0..<100).map { i in
        RequestRecord(id: i, target: "t", replica: "r", startMs: Double(i) * 10, e2eMs: 1000,
                      tokenEventOffsetsMs: [Double(i * 10), 1000], outputTokens: 2)
    }
    for i in 0..<3 { records[i].failure = .http5xx }
    let s = Aggregator.summarize(target: "t", records: records)
    let threshold = try Threshold.parse("failure_pct>2.5")
    #expect(threshold.value(in: s) == 3)
    #expect(threshold.violation(in: s) != nil)
    #expect(try Threshold.parse("failure_pct>3.5").violation(in: s) == nil)
    #expect(try Threshold.parse("slo_attainment_pct<90").value(in: s) == 97)
    #expect { try Threshold.parse("error_rate>0.01") } throws: {
        "\($0)".contains("'error_rate' (a fraction) is now 'failure_pct' (percent)") && "\($0)".contains("failure_pct>1")
    }
    #expect { try Threshold.parse("schema_valid_rate<0.99") } throws: { "\($0)".contains("schema_valid_pct") }
}
