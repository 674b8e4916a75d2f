import Foundation
import LoadGen
import Metrics
import Testing
import Workload

/// A reasoning model on a real vLLM (#20 part 3). The tiny model's chat template opens `<think>` when a request sets
/// chat_template_kwargs {"enable_thinking": true} (as DeepSeek-R1's does); vLLM's deepseek_r1 parser streams what
/// follows as `delta.reasoning`, and its thinking_token_budget forces `</think>` once the thought has used the
/// budget, so every answer reasons for a known number of tokens and then answers. Sampling is limited to the tiny
/// vocabulary's whole lowercase pieces (and `</think>`), so that every token streams as one event: a random model
/// otherwise picks byte tokens that end inside a UTF-8 character and stream as empty deltas.
@Suite(.serialized, .enabled(if: RealServer.vllmReasoning != nil,
                             "set TPBENCH_VLLM_URL_REASONING (scripts/test-vllm does)"))
struct RealVLLMReasoningTests {
    let url = RealServer.vllmReasoning ?? ""

    @Test func reasoningAndAnswerAreTimedApartAndCounted() async throws {
        var spec = tinyWorkload(promptTokens: 64, maxTokens: 30, concurrency: 2, requests: 8)
        let (pieces, thinkEnd) = try Self.wordPieces()
        spec.extraBody = try RequestBodyBuilder.parseExtraBody(
            #"{"thinking_token_budget": 10, "chat_template_kwargs": {"enable_thinking": true}, "allowed_token_ids": "#
                + "\(pieces + [thinkEnd])}")
        var settings = RequestSettings()
        settings.keepOutputText = true
        let output = try await Benchmark.run(workload: spec, target: Target(name: "vllm", baseURLs: [url]),
                                             settings: settings)
        let s = output.summary
        #expect(s.failed == 0 && output.records.count == 8, "\(s.failureSamples)")
        // The budget counts the template's newline after <think>: 9 reasoning tokens, then the forced </think>
        // (which streams nothing), then the answer.
        let reasoning = 9
        for record in output.records {
            #expect(record.outputTokens == 30, "request \(record.id): \(record.outputTokens) output tokens")
            // vLLM 0.32 counts reasoning tokens only after a <think> it generated: it reports 0 here, and the
            // client counts the stream's reasoning events instead.
            #expect(record.reasoningTokens == reasoning && record.reasoningTokensCounted == true,
                    "request \(record.id): reasoning \(record.reasoningTokens ?? -1), counted \(record.reasoningTokensCounted ?? false)")
            // TTFT is the first reasoning event; the first answer token is the first event after the thought.
            // One event a token, but none for </think>.
            let offsets = record.tokenEventOffsetsMs
            #expect(offsets.count == 29, "request \(record.id): \(offsets.count) events")
            if offsets.count > reasoning {
                #expect(record.firstAnswerOffsetMs == offsets[reasoning],
                        "request \(record.id): first answer at \(record.firstAnswerOffsetMs ?? -1) ms, event 10 at \(offsets[reasoning]) ms")
            }
            #expect((record.firstAnswerOffsetMs ?? 0) > (record.ttftMs ?? .infinity))
            // The saved answer is the content alone: no reasoning text, no marker.
            let text = record.outputText ?? ""
            #expect(!text.isEmpty && !text.contains("think>"), "request \(record.id): \(text.prefix(80))")
        }
        #expect(s.reasoningTokens == reasoning * 8 && s.reasoningTokensCounted == 8)
        let ttft = try #require(s.ttftMs), answer = try #require(s.timeToFirstAnswerMs)
        #expect(answer.p50 > ttft.p50)
        print("[real reasoning] TTFT p50 \(ttft.p50) ms, first answer token p50 \(answer.p50) ms, "
              + "reasoning \(s.reasoningTokens ?? -1) of \(s.outputTokens) output tokens")
    }

    /// Ids of the model's tokens that are whole lowercase pieces (byte-level BPE writes a leading space as Ġ), and
    /// the id of `</think>`, from the model's tokenizer.json.
    static func wordPieces() throws -> (pieces: [Int], thinkEnd: Int) {
        let model = try #require(RealServer.model, "set TPBENCH_VLLM_MODEL")
        let data = try Data(contentsOf: URL(fileURLWithPath: model).appendingPathComponent("tokenizer.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let vocab = try #require((json["model"] as? [String: Any])?["vocab"] as? [String: Int])
        let added = try #require(json["added_tokens"] as? [[String: Any]])
        let thinkEnd = try #require(added.first { $0["content"] as? String == "</think>" }?["id"] as? Int)
        let pieces = vocab.filter { $0.key.wholeMatch(of: /Ġ?[a-z]{2,}/) != nil }.map(\.value).sorted()
        #expect(pieces.count > 1000, "\(pieces.count) word pieces")
        return (pieces, thinkEnd)
    }
}
