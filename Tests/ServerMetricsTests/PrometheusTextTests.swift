import Testing

@testable import ServerMetrics

@Suite struct PrometheusTextTests {
    @Test func countersGaugesAndComments() {
        let text = """
            # HELP vllm:num_requests_running Number of requests in model execution batches.
            # TYPE vllm:num_requests_running gauge
            vllm:num_requests_running{model_name="qwen"} 7.0
            # a free comment
            # TYPE vllm:num_preemptions_total counter
            vllm:num_preemptions_total{model_name="qwen",engine="0"} 12
            vllm:num_preemptions_total{model_name="qwen",engine="1"} 3 1715000000123

            process_start_time_seconds 1.7150e+09
            """
        let exposition = PrometheusExposition(parsing: text)
        #expect(exposition.problems.isEmpty)
        #expect(exposition.samples.count == 4)
        #expect(exposition.types["vllm:num_requests_running"] == .gauge)
        #expect(exposition.types["vllm:num_preemptions_total"] == .counter)
        #expect(exposition.help["vllm:num_requests_running"] == "Number of requests in model execution batches.")
        #expect(exposition.total("vllm:num_requests_running") == 7)
        #expect(exposition.total("vllm:num_preemptions_total") == 15)
        #expect(exposition.maximum("vllm:num_preemptions_total") == 12)
        #expect(exposition.samples(named: "vllm:num_preemptions_total").last?.timestampMs == 1_715_000_000_123)
        #expect(exposition.samples(named: "vllm:num_preemptions_total").first?.labels["engine"] == "0")
        #expect(exposition.total("process_start_time_seconds") == 1.715e9)
        #expect(exposition.total("absent") == nil)
    }

    @Test func labelEscapesAndSpecialValues() {
        let text = #"""
            m{path="C:\\models\\q",quote="say \"hi\"",nl="a\nb",odd="x\qy"} 1
            m{empty="",trailing="comma",} +Inf
            n NaN
            o -Inf
            p{  spaced = "v" } 2
            # HELP q help with \\ and \n escapes
            """#
        let exposition = PrometheusExposition(parsing: text)
        let first = exposition.samples(named: "m").first
        #expect(first?.labels["path"] == #"C:\models\q"#)
        #expect(first?.labels["quote"] == #"say "hi""#)
        #expect(first?.labels["nl"] == "a\nb")
        #expect(first?.labels["odd"] == #"x\qy"#)
        #expect(exposition.samples(named: "m").last?.value == .infinity)
        #expect(exposition.samples(named: "m").last?.labels == ["empty": "", "trailing": "comma"])
        #expect(exposition.samples(named: "n").first?.value.isNaN == true)
        #expect(exposition.samples(named: "o").first?.value == -.infinity)
        #expect(exposition.samples(named: "p").first?.labels["spaced"] == "v")
        #expect(exposition.help["q"] == "help with \\ and \n escapes")
        // NaN and infinities never leak into totals.
        #expect(exposition.total("n") == nil)
    }

    @Test func histogramsSumOverLabelSets() {
        let text = """
            # TYPE vllm:time_to_first_token_seconds histogram
            vllm:time_to_first_token_seconds_bucket{le="0.1",model_name="a"} 2
            vllm:time_to_first_token_seconds_bucket{le="0.5",model_name="a"} 5
            vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="a"} 6
            vllm:time_to_first_token_seconds_sum{model_name="a"} 1.5
            vllm:time_to_first_token_seconds_count{model_name="a"} 6
            vllm:time_to_first_token_seconds_bucket{model_name="b",le="0.1"} 1
            vllm:time_to_first_token_seconds_bucket{model_name="b",le="0.5"} 1
            vllm:time_to_first_token_seconds_bucket{model_name="b",le="+Inf"} 4
            vllm:time_to_first_token_seconds_sum{model_name="b"} 8.5
            vllm:time_to_first_token_seconds_count{model_name="b"} 4
            """
        let histogram = PrometheusExposition(parsing: text).histogram("vllm:time_to_first_token_seconds")
        #expect(histogram?.count == 10)
        #expect(histogram?.sum == 10)
        #expect(histogram?.buckets.map(\.upperBound) == [0.1, 0.5, .infinity])
        #expect(histogram?.buckets.map(\.cumulativeCount) == [3, 6, 10])
    }

    @Test(arguments: [
        "vllm:x{model_name=\"a\" 1", "vllm:x{model_name=a} 1", "vllm:x{model_name=\"a} 1", "vllm:x abc",
        "vllm:x", "{le=\"1\"} 2", "vllm:x 1 notatime", "9bad 1",
    ])
    func badLinesAreSkippedWithTheirLineNumber(_ line: String) {
        let exposition = PrometheusExposition(parsing: "good 1\n\(line)\ngood 2\n")
        #expect(exposition.total("good") == 3)
        #expect(exposition.problems.count == 1)
        #expect(exposition.problems.first?.line == 2)
        #expect(exposition.problems.first?.description.contains("line 2") == true)
    }

    @Test func crlfAndBlankLinesAreTolerated() {
        let exposition = PrometheusExposition(parsing: "a 1\r\n\r\n   \r\nb 2\r\n")
        #expect(exposition.problems.isEmpty)
        #expect(exposition.total("a") == 1)
        #expect(exposition.total("b") == 2)
    }

    @Test func randomTruncationsNeverTrap() {
        let text = VocabularyFixtures.vllmCurrent
        var state: UInt64 = 42
        for _ in 0..<300 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let cut = Int(state >> 33) % (text.utf8.count + 1)
            let truncated = String(decoding: Array(text.utf8).prefix(cut), as: UTF8.self)
            let exposition = PrometheusExposition(parsing: truncated)
            _ = ServerSnapshot(exposition)
        }
    }
}
