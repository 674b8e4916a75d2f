import Curl
import LoadGen
import Metrics
import Testing
import TestSupport
import Workload

/// Open loop against a server that takes 1 s per request: a concurrency ceiling must show up as send lag and
/// growing intended-start latencies, never as silently flat numbers (coordinated omission).
@Suite(.serialized)
struct OpenLoopTests {
    func run(ceiling: Int?) async throws -> RunOutput {
        let server = try await ScriptedServer.start(.stream(StreamScript(ttftMs: 1000, itlMs: 10, tokens: 1)))
        var spec = WorkloadSpec()
        spec.model = "test-model"
        spec.prompt.tokens = .fixed(16)
        spec.prompt.calibrate = false
        spec.output.maxTokens = .fixed(1)
        spec.load.rate = 50
        spec.load.arrival = .constant
        spec.load.durationS = 10
        spec.load.concurrency = ceiling
        let output = try await Benchmark.run(workload: spec, target: Target(name: "t", baseURLs: [server.baseURL]),
                                             settings: RequestSettings())
        try await server.shutdown()
        return output
    }

    @Test func ceilingTurnsIntoSendLag() async throws {
        let output = try await run(ceiling: 10)
        let s = output.summary
        #expect(s.failed == 0, "\(s.failures) \(s.failureSamples)")
        // Ten slots of one second each: about 100 requests go out in 10 s; the other ~400 arrivals are reported.
        #expect((95...115).contains(s.requests), "sent \(s.requests)")
        #expect(output.unsentArrivals >= 350, "unsent \(output.unsentArrivals)")
        let e2e = try #require(s.e2eMs)
        #expect(abs(e2e.p50 - 1000) < 50 && e2e.p99 < 1100, "actual-send E2E stays flat: \(e2e.p50)/\(e2e.p99)")
        let lag = try #require(s.sendLagMs)
        let fromIntended = try #require(s.e2eFromIntendedMs)
        #expect(lag.max > 5000, "send lag grows: max \(lag.max)")
        #expect(fromIntended.p99 > 5000, "intended-start E2E grows: p99 \(fromIntended.p99)")
        // Growth over the run: the last tenth of requests waited far longer than the first tenth.
        let byStart = output.records.sorted { $0.startMs < $1.startMs }.compactMap(\.sendLagMs)
        let tenth = max(1, byStart.count / 10)
        let early = byStart.prefix(tenth).reduce(0, +) / Double(tenth)
        let late = byStart.suffix(tenth).reduce(0, +) / Double(tenth)
        #expect(late > early + 4000, "early \(early) ms, late \(late) ms")
    }

    @Test func withoutCeilingTheScheduleIsKept() async throws {
        let output = try await run(ceiling: nil)
        let s = output.summary
        #expect(s.failed == 0, "\(s.failures) \(s.failureSamples)")
        #expect(s.requests == 500)
        #expect(output.unsentArrivals == 0)
        let lag = try #require(s.sendLagMs)
        #expect(lag.p99 < 20, "send lag p99 \(lag.p99) ms")
        let e2e = try #require(s.e2eMs)
        #expect(abs(e2e.p50 - 1000) < 50, "E2E p50 \(e2e.p50)")
    }
}
