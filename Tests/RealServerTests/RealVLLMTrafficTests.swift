import Foundation
import LoadGen
import Metrics
import Testing
import Workload

/// Real traffic on a real vLLM (#20): a trace whose rows share prefix blocks, and multi-turn conversations that
/// resend their history, both seen by vLLM's own prefix cache (`usage.prompt_tokens_details.cached_tokens`, which
/// scripts/test-vllm turns on with --enable-prompt-tokens-details). vLLM's CPU backend caches whole blocks of
/// 128 tokens.
@Suite(.serialized, .enabled(if: RealServer.enabled, "set TPBENCH_VLLM_URL (scripts/test-vllm does)"))
struct RealVLLMTrafficTests {
    let url = RealServer.vllm ?? ""
    static let vllmBlockTokens = 128

    @Test func aTraceWithSharedPrefixesIsServedFromVLLMsCacheAsItRepeats() async throws {
        // 12 rows 0.25 s apart in three families; each family's rows share two 256-token blocks, so from the
        // fourth row on 512 of each row's 768 tokens repeat an earlier row (half the prompt tokens in all).
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tpbench-real-trace-\(UUID().uuidString).jsonl")
        let rows = (0..<12).map { i in
            "{\"timestamp\": \(i * 250), \"input_length\": 768, \"output_length\": 4, \"hash_ids\": [\(i % 3 * 10), \(i % 3 * 10 + 1), \(100 + i)]}"
        }
        try rows.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        var spec = tinyWorkload()
        spec.load = LoadSpec()
        // Words no earlier run sent (the server's cache outlives a run; vLLM resets it only in dev mode).
        spec.seed = UInt64.random(in: 1...UInt64(UInt32.max))
        spec.trace = try TraceLoader.spec(file: file.path, blockTokens: 256)
        let expected = try #require(spec.trace?.repeatedBlockShare)
        #expect(abs(expected - 0.5) < 1e-9)
        let output = try await Benchmark.run(workload: spec, target: Target(name: "vllm", baseURLs: [url]),
                                             settings: RequestSettings())
        #expect(output.summary.failed == 0 && output.records.count == 12, "\(output.summary.failureSamples)")
        for record in output.records {
            #expect(record.promptTokens == 768, "row \(record.id): calibrated to its input_length")
            // The first row of each family misses; the later ones find the family's two blocks (512 tokens,
            // four whole vLLM blocks).
            #expect(record.cachedPromptTokens == (record.id < 3 ? 0 : 512),
                    "row \(record.id): cached \(record.cachedPromptTokens ?? -1)")
        }
        let measured = try #require(output.summary.prefixCacheHitRate)
        #expect(abs(measured - expected) < 0.01, "vLLM served \(measured) of prompt tokens from cache, trace repeats \(expected)")
        print("[real trace] vLLM prefix-cache hit rate \(measured), trace repeats \(expected)")
    }

    @Test func aMultiTurnConversationResendsItsHistoryAndVLLMCachesIt() async throws {
        var spec = tinyWorkload(promptTokens: 128, maxTokens: 16, concurrency: 2)
        spec.load.requests = nil
        spec.seed = UInt64.random(in: 1...UInt64(UInt32.max))
        spec.sessions = SessionSpec(turns: .fixed(3), thinkTime: .fixed(0.05), history: .responses, count: 4)
        let output = try await Benchmark.run(workload: spec, target: Target(name: "vllm", baseURLs: [url]),
                                             settings: RequestSettings())
        #expect(output.summary.failed == 0 && output.records.count == 12, "\(output.summary.failureSamples)")
        #expect(output.sessionCounts?.completed == 4)
        for (session, records) in Dictionary(grouping: output.records, by: { $0.session ?? -1 }) {
            let turns = records.sorted { ($0.turn ?? 0) < ($1.turn ?? 0) }
            #expect(turns.map(\.turn) == [1, 2, 3], "session \(session)")
            #expect(turns[0].promptTokens == 128 && turns[0].cachedPromptTokens == 0, "session \(session) turn 1")
            for i in 1..<turns.count {
                let previous = try #require(turns[i - 1].promptTokens)
                let prompt = try #require(turns[i].promptTokens)
                let cached = try #require(turns[i].cachedPromptTokens)
                // The history (previous prompt and its 16-token answer) and a new ~120-token message.
                #expect(prompt >= previous + 16 + 100, "session \(session) turn \(i + 1): \(previous) → \(prompt)")
                // vLLM finds the previous prompt in its cache: all of it but the last partial block.
                #expect(cached >= previous - Self.vllmBlockTokens && cached <= previous + 16 && cached > 0,
                        "session \(session) turn \(i + 1): cached \(cached) of a \(previous)-token history")
            }
        }
        let perTurn = try #require(output.summary.turns)
        print("[real sessions] prompt tokens by turn \(perTurn.map { $0.promptTokensMean ?? -1 }), cached "
              + "\(perTurn.map { $0.prefixCacheHitRate ?? -1 })")
    }
}
