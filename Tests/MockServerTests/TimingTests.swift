import Foundation
import LatencyModel
import MockServer
import Testing

/// Latency measured by a client through the real server. Bounds are loose: this is a shared 2-core machine.
@Suite(.serialized) struct TimingTests {
    @Test func fixedLatencyModeGivesConfiguredTTFTAndITL() async throws {
        try await withMock({ c in c.fixedLatency = .init(timeToFirstTokenMs: 300, interTokenLatencyMs: 20) }) {
            server in
            let r = try await MiniClient.request(
                port: server.ports[0], path: "/v1/chat/completions", body: chatBody(maxTokens: 10))
            let content = r.events.dropFirst().prefix(10)  // role chunk travels with the first token
            let ttft = Double(r.events[1].nanos &- r.startNanos) / 1e6
            #expect(ttft >= 299 && ttft < 500)  // upper bound loose: the machine has 2 cores
            let times = content.map(\.nanos)
            let gaps = zip(times.dropFirst(), times).map { Double($0 &- $1) / 1e6 }
            #expect(gaps.count == 9)
            let sorted = gaps.sorted()
            #expect(sorted[4] > 15 && sorted[4] < 30)
        }
    }

    @Test func tokensPerEventGroupsTokens() async throws {
        try await withMock(
            { c in
                c.fixedLatency = .init(timeToFirstTokenMs: 5, interTokenLatencyMs: 2)
                c.tokensPerEvent = 4
            }
        ) { server in
            let r = try await MiniClient.request(
                port: server.ports[0], path: "/v1/chat/completions", body: chatBody(maxTokens: 10))
            // role + 3 content events (4 + 4 + 2 tokens) + usage + [DONE]
            #expect(r.events.count == 6)
            #expect(MockTokenizer().count(streamedText(r)) == 10)
        }
    }

    struct Measured {
        var ttftP50: Double
        var itlP50: Double
        var tokensPerSecond: Double
    }

    /// 100 simultaneous requests of 1000 prompt tokens and `outputTokens` output, measured in simulated time.
    static func burst(tp: Int, link: LinkSpec, scale: Double, outputTokens: Int) async throws -> Measured {
        let prompt = (0..<(1000 - 8)).map { MockTokenizer.word($0 % 4000) }.joined(separator: " ")
        return try await withMock(
            { c in
                c.replicaSpec = ReplicaSpec(model: .qwen3_30b_a3b, gpu: .h200, tensorParallel: tp, link: link)
                c.timeScale = scale
            }
        ) { server in
            let port = server.ports[0]
            let body = chatBody(content: prompt, maxTokens: outputTokens, extra: ",\"ignore_eos\":true")
            let responses = try await withThrowingTaskGroup(of: MiniResponse.self) { group in
                for _ in 0..<100 {
                    group.addTask { try await MiniClient.request(port: port, path: "/v1/chat/completions", body: body) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            var ttfts: [Double] = []
            var gaps: [Double] = []
            var tokens = 0
            var first = UInt64.max
            var last: UInt64 = 0
            for r in responses {
                let content = r.events.dropFirst().prefix(outputTokens).map(\.nanos)
                #expect(content.count == outputTokens)
                first = min(first, r.startNanos)
                last = max(last, content.last ?? 0)
                tokens += content.count
                ttfts.append(Double(content[0] &- r.startNanos) / 1e9 / scale)
                gaps += zip(content.dropFirst(), content).map { Double($0 &- $1) / 1e9 / scale }
            }
            let seconds = Double(last &- first) / 1e9 / scale
            print("server's own emission lateness: \(await server.emissionLateness()[0])")
            return Measured(
                ttftP50: LoadSimulation.Outcome.percentile(ttfts, 50), itlP50: LoadSimulation.Outcome.percentile(gaps, 50),
                tokensPerSecond: Double(tokens) / seconds)
        }
    }

    @Test func publishedBurstThroughTheServer() async throws {
        // 100 output tokens instead of 500 keeps the test short; TTFT comes from the first ~13 prefill steps either way.
        let tp1 = try await Self.burst(tp: 1, link: .nvlink4, scale: 1, outputTokens: 100)
        let degraded = try await Self.burst(tp: 4, link: .pcieDegraded, scale: 0.25, outputTokens: 100)
        // Scales keep wall-clock steps at ≥ 16 ms, so a debug build sharing 2 cores with its client keeps up.
        let nvlink = try await Self.burst(tp: 4, link: .nvlink4, scale: 2, outputTokens: 100)
        print("through the server: TP=1 \(tp1), TP=4 pcie-degraded \(degraded), TP=4 nvlink4 \(nvlink)")
        #expect(tp1.ttftP50 > 0.3 && tp1.ttftP50 < 0.8)
        #expect(tp1.itlP50 > 0.017 && tp1.itlP50 < 0.026)
        #expect(degraded.ttftP50 > tp1.ttftP50)
        #expect(degraded.itlP50 > tp1.itlP50)
        #expect(degraded.tokensPerSecond < tp1.tokensPerSecond)
        #expect(nvlink.itlP50 < tp1.itlP50)
    }
}
