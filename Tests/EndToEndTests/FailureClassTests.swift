import Curl
import LoadGen
import Metrics
import NIOPosix
import Testing
import TestSupport
import Workload

/// Each failure class is produced by a server that misbehaves that way, and is counted, not lost.
@Suite(.serialized)
struct FailureClassTests {
    let script = StreamScript(ttftMs: 20, itlMs: 5, tokens: 20)

    func run(_ behavior: ScriptedBehavior, requests: Int = 6, timeouts: TimeoutSpec = TimeoutSpec()) async throws -> TargetSummary {
        let server = try await ScriptedServer.start(behavior)
        defer { Task { try? await server.shutdown() } }
        let spec = closedLoop(concurrency: 3, requests: requests, promptTokens: 8, maxTokens: 20, model: "test-model",
                              timeouts: timeouts)
        return try await Benchmark.run(workload: spec, target: Target(name: "t", baseURLs: [server.baseURL]),
                                       settings: RequestSettings()).summary
    }

    func expectOnly(_ summary: TargetSummary, _ failure: FailureClass, count: Int = 6, messageContains: String? = nil) {
        #expect(summary.requests == count)
        #expect(summary.failures == [failure.rawValue: count], "got \(summary.failures) \(summary.failureSamples)")
        if let messageContains {
            let sample = summary.failureSamples[failure.rawValue] ?? ""
            #expect(sample.contains(messageContains), "sample: \(sample)")
        }
    }

    @Test func serverErrorWithOpenAIBody() async throws {
        let body = #"{"error":{"message":"CUDA out of memory","type":"InternalServerError","param":null,"code":500}}"#
        expectOnly(try await run(.status(500, body: body)), .http5xx, messageContains: "CUDA out of memory")
    }

    @Test func tooManyRequests() async throws {
        let body = #"{"error":{"message":"rate limited","type":"RateLimitError","param":null,"code":429}}"#
        expectOnly(try await run(.status(429, body: body, headers: [("retry-after", "1")])), .http4xx,
                   messageContains: "HTTP 429")
    }

    @Test func streamCutMidway() async throws {
        expectOnly(try await run(.cutAfter(events: 5, script)), .truncated)
    }

    @Test func malformedEvent() async throws {
        expectOnly(try await run(.malformedAfter(events: 3, script)), .malformedEvent)
    }

    @Test func inBandErrorEvent() async throws {
        expectOnly(try await run(.errorEventAfter(events: 3, script)), .errorEvent, messageContains: "engine overloaded")
    }

    @Test func streamWithoutDone() async throws {
        expectOnly(try await run(.endWithoutDone(script)), .truncated)
    }

    @Test func neverAnsweringServerHitsFirstTokenTimeout() async throws {
        let started = MonotonicClock.now()
        let summary = try await run(.neverAnswer, timeouts: TimeoutSpec(connectS: 1, firstTokenS: 0.5))
        expectOnly(summary, .timeoutFirstToken)
        // Two waves of three requests, each cut at 0.5 s: the run must not hang.
        #expect(Double(MonotonicClock.now() - started) / 1e9 < 10)
    }

    @Test func refusedConnection() async throws {
        // Bind a port, then close it, so nothing listens there.
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 1
        try await channel.close()
        try await group.shutdownGracefully()
        let summary = try await Benchmark.run(
            workload: closedLoop(concurrency: 2, requests: 4, promptTokens: 8, maxTokens: 4, model: "m"),
            target: Target(name: "t", baseURLs: ["http://127.0.0.1:\(port)"]), settings: RequestSettings()).summary
        #expect(summary.failures == ["connect": 4], "got \(summary.failures)")
    }
}
