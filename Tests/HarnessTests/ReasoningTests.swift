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
        // Mock and client share this process's 2 cores with whatever else runs: real-time (root or CAP_SYS_NICE,
        // as in CI), no ordinary thread can hold a request between the client's start stamp and the mock's clock
        // (under two CPU hogs, without it, whole waves came in 3 ms late).
        let mockRealtime = await mock.enableRealtimeScheduling()
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
        settings.realtime = true
        let output: RunOutput
        let witness = StallWitness()
        do {
            output = try await Benchmark.run(workload: spec, target: Target(name: "r", baseURLs: mock.baseURLs),
                                             settings: settings)
        } catch {
            _ = witness.stop()
            try await mock.shutdown()
            throw error
        }
        let stalls = witness.stop()
        try await mock.shutdown()
        let measured = output.records.filter { $0.excludedAs == nil }
        #expect(output.summary.failed == 0 && measured.count == 12 && output.records.count == 16)
        // The schedule: first (reasoning) token at 100 ms, then 5 ms a token; token 21 is the first answer. Each
        // time is within 2 ms of it, unless the machine stalled where that time built up its lateness (the host
        // takes both vCPUs for up to ~3 ms a few times a run: CI saw three records of one wave 3.1 ms late, and
        // 29 stalls in TraceReplayTests' run); at most one record in three may be excused so.
        var excused: [(record: Int, what: String)] = []
        for record in measured {
            let ttft = try #require(record.ttftMs)
            let answer = try #require(record.firstAnswerOffsetMs)
            let startNs = output.epochNs &+ UInt64(record.startMs * 1e6)
            for (name, value, nominal) in [("TTFT", ttft, 100.0), ("first answer token", answer, 200.0)]
            where abs(value - nominal) >= 2 {
                if witness.realtimeProblem == nil, mockRealtime == nil, output.realtimeProblem == nil,
                   stalls.explain(measuredMs: value, nominalMs: nominal, boundMs: 2, startNs: startNs) {
                    excused.append((record.id, "\(name) \(value) ms"))
                } else {
                    Issue.record("\(name) \(value) ms, not \(nominal) ± 2; stalls: \(stalls.describe(since: output.epochNs))")
                }
            }
            #expect(record.reasoningTokens == 20 && record.outputTokens == 50)
            #expect(record.tokenEventOffsetsMs.count == 50, "reasoning events are token events")
            let tokens = MockTokenizer().count(record.outputText ?? "")
            #expect(tokens == 30, "the answer is the 30 content tokens, got \(tokens) in the text")
        }
        let excusedText = excused.map(\.what).joined(separator: ", ")
        #expect(Set(excused.map(\.record)).count * 3 <= measured.count,
                "excused by stalls: \(excusedText); stalls: \(stalls.describe(since: output.epochNs))")
        if !excused.isEmpty { print("reasoning: excused by machine stalls: \(excusedText)") }
        let s = output.summary
        #expect(s.reasoningTokens == 240 && abs((s.timeToFirstAnswerMs?.p50 ?? 0) - 200) < 2)
    }
}
