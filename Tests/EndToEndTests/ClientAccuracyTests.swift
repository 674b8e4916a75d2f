import Curl
import LoadGen
import Metrics
import Testing
import TestSupport
import Workload

/// The client against a server whose schedule is known exactly: measured numbers must match it.
@Suite(.serialized)
struct ClientAccuracyTests {
    func run(_ behavior: ScriptedBehavior, concurrency: Int, requests: Int) async throws -> RunOutput {
        let server = try await ScriptedServer.start(behavior)
        let output = try await Benchmark.run(workload: closedLoop(concurrency: concurrency, requests: requests),
                                             target: Target(name: "scripted", baseURLs: [server.baseURL]),
                                             settings: RequestSettings())
        try await server.shutdown()
        return output
    }

    @Test func oneTokenPerEventMatchesSchedule() async throws {
        let output = try await run(.stream(StreamScript(ttftMs: 300, itlMs: 20, tokens: 100)),
                                   concurrency: 50, requests: 200)
        let s = output.summary
        #expect(s.requests == 200)
        #expect(s.failed == 0, "failures: \(s.failures) \(s.failureSamples)")
        let ttft = try #require(s.ttftMs)
        let itl = try #require(s.itlEventMs)
        let tpot = try #require(s.tpotMs)
        #expect(abs(ttft.p50 - 300) < 5, "TTFT p50 \(ttft.p50)")
        #expect(abs(itl.p50 - 20) < 1, "ITL p50 \(itl.p50)")
        #expect(abs(tpot.p50 - 20) < 1, "TPOT p50 \(tpot.p50)")
        #expect(output.records.allSatisfy { $0.outputTokens == 100 && !$0.outputTokensEstimated })
        #expect(output.records.allSatisfy { $0.tokenEventOffsetsMs.count == 100 })
        #expect(s.tokensPerEvent?.mean == 1)
    }

    @Test func fourTokensPerEventSeparatesITLFromTPOT() async throws {
        let script = StreamScript(ttftMs: 300, itlMs: 80, tokens: 100, tokensPerEvent: 4, usagePerChunk: true)
        let output = try await run(.stream(script), concurrency: 50, requests: 200)
        let s = output.summary
        #expect(s.failed == 0, "failures: \(s.failures) \(s.failureSamples)")
        let ttft = try #require(s.ttftMs)
        let itlEvent = try #require(s.itlEventMs)
        let itlToken = try #require(s.itlTokenMs)
        let tpot = try #require(s.tpotMs)
        #expect(abs(ttft.p50 - 300) < 5, "TTFT p50 \(ttft.p50)")
        #expect(abs(itlEvent.p50 - 80) < 1, "ITL per event p50 \(itlEvent.p50)")
        #expect(abs(itlToken.p50 - 20) < 1, "ITL per token p50 \(itlToken.p50)")
        // (E2E − TTFT) / (N − 1) = 24 × 80 / 99 ≈ 19.4 ms: the per-token pace, not the per-event one.
        #expect(abs(tpot.p50 - 20) < 1, "TPOT p50 \(tpot.p50)")
        #expect(s.tokensPerEvent?.p50 == 4)
        #expect(output.records.allSatisfy { $0.outputTokens == 100 })
    }

    @Test func nonStreamedResponseHasTTFTEqualToE2E() async throws {
        let output = try await run(.wholeResponse(StreamScript(ttftMs: 50, tokens: 10)), concurrency: 2, requests: 4)
        #expect(output.summary.failed == 0)
        #expect(output.summary.nonStreamedResponses == 4)
        for record in output.records {
            #expect(record.ttftMs == record.e2eMs)
            #expect(record.outputTokens == 10)
        }
    }
}
