import Foundation
import LoadGen
import Metrics
import MockServer
import Testing
import Workload

/// A reasoning model (the mock with --reasoning-tokens, fixed latency): TTFT is the first reasoning token, the
/// time to first answer token comes when the reasoning is done, usage's reasoning tokens are recorded, and the
/// answer text is the content alone.
@Suite(.serialized)
struct ReasoningTests {
    @Test func firstAnswerTokenComesAfterTheReasoningAndTheAnswerIsTheContent() async throws {
        var configuration = MockConfiguration()
        configuration.fixedLatency = .init(timeToFirstTokenMs: 100, interTokenLatencyMs: 5)
        configuration.reasoningTokens = 20
        let mock = try await MockServer.start(configuration)
        var spec = WorkloadSpec()
        spec.prompt.tokens = .fixed(64)
        spec.output.maxTokens = .fixed(50)
        spec.output.ignoreEOS = true
        spec.load.concurrency = 4
        // A fresh mock's first wave pays first-use costs on its way out (its emission lateness reached 3.3 ms on
        // those, 0.1 ms p50 after), which is not what this test measures: one wave of warm-up, left out.
        spec.load.requests = 16
        spec.load.warmupRequests = 4
        var settings = RequestSettings()
        settings.keepOutputText = true
        let output: RunOutput
        do {
            output = try await Benchmark.run(workload: spec, target: Target(name: "r", baseURLs: mock.baseURLs),
                                             settings: settings)
        } catch {
            try await mock.shutdown()
            throw error
        }
        try await mock.shutdown()
        let measured = output.records.filter { $0.excludedAs == nil }
        #expect(output.summary.failed == 0 && measured.count == 12 && output.records.count == 16)
        for record in measured {
            let ttft = try #require(record.ttftMs)
            let answer = try #require(record.firstAnswerOffsetMs)
            // The schedule: first (reasoning) token at 100 ms, then 5 ms a token; token 21 is the first answer.
            #expect(abs(ttft - 100) < 2, "TTFT \(ttft) ms")
            #expect(abs(answer - 200) < 2, "first answer token \(answer) ms")
            #expect(record.reasoningTokens == 20 && record.outputTokens == 50)
            #expect(record.tokenEventOffsetsMs.count == 50, "reasoning events are token events")
            let tokens = MockTokenizer().count(record.outputText ?? "")
            #expect(tokens == 30, "the answer is the 30 content tokens, got \(tokens) in the text")
        }
        let s = output.summary
        #expect(s.reasoningTokens == 240 && abs((s.timeToFirstAnswerMs?.p50 ?? 0) - 200) < 2)
    }
}
