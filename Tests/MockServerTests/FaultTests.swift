import Foundation
import LatencyModel
import MockServer
import NIOCore
import Testing

@Suite struct FaultTests {
    @Test func errorRateAnswers500() async throws {
        try await withMock(
            { c in
                fast(&c)
                c.faults.errorRate = 1
            }
        ) { server in
            let r = try await MiniClient.request(port: server.ports[0], path: "/v1/chat/completions", body: chatBody())
            #expect(r.status == 500)
            #expect((jsonObject(r.body)?["error"] as? [String: Any])?["type"] as? String == "InternalServerError")
        }
    }

    @Test(arguments: [429, 503]) func rejectWhenWaitingOver(status: Int) async throws {
        try await withMock(
            { c in
                c.replicaSpec.maxNumSeqs = 1  // ~3 ms decode steps: each request holds the engine ~0.3 s
                c.faults.rejectWhenWaitingOver = 1
                c.faults.rejectStatus = status
            }
        ) { server in
            let port = server.ports[0]
            // One runs, then the second and third wait; the fourth finds 2 > 1 waiting.
            let responses = try await withThrowingTaskGroup(of: MiniResponse.self) { group in
                for i in 0..<4 {
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(20 * i))
                        return try await MiniClient.request(
                            port: port, path: "/v1/chat/completions", body: chatBody(maxTokens: 100))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let rejected = responses.filter { $0.status == status }
            #expect(rejected.count >= 1)
            #expect(rejected.allSatisfy { $0.header("retry-after") == "1" })
            #expect(responses.filter { $0.status == 200 }.count >= 2)
        }
    }

    @Test func dropRateCutsTheConnectionMidStream() async throws {
        try await withMock(
            { c in
                fast(&c)
                c.faults.dropRate = 1
            }
        ) { server in
            let r = try await MiniClient.request(
                port: server.ports[0], path: "/v1/chat/completions", body: chatBody(maxTokens: 50))
            #expect(r.status == 200)
            #expect(r.truncated)
            #expect(!r.dataEvents.contains("[DONE]"))
            #expect(await server.inFlightRequests() == [0])
        }
    }

    @Test func stallStopsSendingButKeepsTheConnection() async throws {
        try await withMock(
            { c in
                fast(&c)
                c.faults.stallRate = 1
            }
        ) { server in
            let r = try await MiniClient.request(
                port: server.ports[0], path: "/v1/chat/completions", body: chatBody(maxTokens: 50),
                timeout: .milliseconds(400))
            #expect(r.status == 200)
            #expect(r.timedOut)
            #expect(!r.dataEvents.contains("[DONE]"))
            #expect(r.dataEvents.count < 50)
        }
    }

    @Test func slowStartDelaysTheFirstByte() async throws {
        try await withMock(
            { c in
                c.fixedLatency = .init(timeToFirstTokenMs: 0, interTokenLatencyMs: 1)
                c.faults.slowStartMs = 250
            }
        ) { server in
            let r = try await MiniClient.request(port: server.ports[0], path: "/v1/chat/completions", body: chatBody())
            let firstByte = Double((r.headNanos ?? 0) &- r.startNanos) / 1e6
            #expect(firstByte >= 245)
            #expect(r.dataEvents.last == "[DONE]")
        }
    }

    @Test func engineDeathFailsHealthAndEndsStreamsWithAnError() async throws {
        try await withMock(
            { c in
                c.fixedLatency = .init(timeToFirstTokenMs: 5, interTokenLatencyMs: 20)
                c.faults.engineDeathAfter = 2
            }
        ) { server in
            let port = server.ports[0]
            let first = try await MiniClient.request(port: port, path: "/v1/chat/completions", body: chatBody())
            #expect(first.dataEvents.last == "[DONE]")
            async let inFlight = MiniClient.request(
                port: port, path: "/v1/chat/completions", body: chatBody(maxTokens: 200))
            try await Task.sleep(for: .milliseconds(150))
            let killer = try await MiniClient.request(port: port, path: "/v1/chat/completions", body: chatBody())
            #expect(killer.status == 500)
            let victim = try await inFlight
            #expect(victim.status == 200)
            #expect(victim.dataEvents.contains { $0.contains("EngineDeadError") })
            #expect(victim.dataEvents.last == "[DONE]")
            #expect(try await MiniClient.request(port: port, method: .GET, path: "/health").status == 503)
            let after = try await MiniClient.request(port: port, path: "/v1/chat/completions", body: chatBody())
            #expect(after.status == 500)
        }
    }

    @Test func survivesAThousandAbruptDisconnects() async throws {
        try await withMock({ c in c.timeScale = 0.05 }) { server in
            let port = server.ports[0]
            // 1000 streams, 50 at a time, each closed by the client after its first event.
            for wave in 0..<20 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<50 {
                        group.addTask {
                            _ = try await MiniClient.request(
                                port: port, path: "/v1/chat/completions", body: chatBody(maxTokens: 500),
                                closeAfterEvents: wave % 2 == 0 ? 1 : 2)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            // Disconnects free their slots (and the simulator's blocks) once the loop sees them.
            var inFlight = await server.inFlightRequests()
            for _ in 0..<50 where inFlight != [0] {
                try await Task.sleep(for: .milliseconds(20))
                inFlight = await server.inFlightRequests()
            }
            #expect(inFlight == [0])
            let r = try await MiniClient.request(port: port, path: "/v1/chat/completions", body: chatBody())
            #expect(r.dataEvents.last == "[DONE]")
            let metrics = try await MiniClient.request(port: port, method: .GET, path: "/metrics").body
            #expect(metrics.contains("vllm:num_requests_running{model_name=\"Qwen/Qwen3-30B-A3B-Instruct-2507\"} 0"))
            #expect(metrics.contains("vllm:kv_cache_usage_perc{model_name=\"Qwen/Qwen3-30B-A3B-Instruct-2507\"} 0"))
        }
    }
}
