import Testing
@testable import OpenAI

/// Reasoning fields: tokens either way, but only `content` is the answer, with or without keeping text.
@Test(arguments: [true, false])
func reasoningChunksCarryTokensButNotTheAnswer(keepText: Bool) throws {
    func decode(_ text: String) throws -> StreamChunk {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { try StreamChunk.decode($0, keepText: keepText) }
    }
    let reasoning = try decode(#"{"choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}],"usage":{"completion_tokens":3,"completion_tokens_details":{"reasoning_tokens":3}}}"#)
    #expect(reasoning.carriesTokens && !reasoning.carriesAnswer && reasoning.reasoningTokens == 3)
    let newer = try decode(#"{"choices":[{"index":0,"delta":{"reasoning":"so"}}]}"#)
    #expect(newer.carriesTokens && !newer.carriesAnswer)
    let answer = try decode(#"{"choices":[{"index":0,"delta":{"content":"42","reasoning_content":null}}]}"#)
    #expect(answer.carriesTokens && answer.carriesAnswer)
    let role = try decode(#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#)
    #expect(!role.carriesTokens && !role.carriesAnswer)
}

/// vLLM's reasoning stream (`delta.reasoning`, then `content`; usage's reasoning_tokens 0 when the template opened
/// `<think>`): the decoder counts reasoning events and their tokens (exact with usage on every chunk, where a
/// chunk after an empty delta carries two), and points at the first answer event.
@Test(arguments: [true, false])
func reasoningEventsAreCountedAndTheFirstAnswerIsAnEvent(continuousUsage: Bool) throws {
    var decoder = StreamDecoder()
    decoder.begin(status: 200, contentType: "text/event-stream")
    func usage(_ n: Int) -> String { continuousUsage ? #","usage":{"prompt_tokens":5,"completion_tokens":\#(n)}"# : "" }
    let events = [
        #"data: {"choices":[{"delta":{"role":"assistant","content":""}}]\#(usage(0))}"#,
        #"data: {"choices":[{"delta":{"reasoning":"so"}}]\#(usage(1))}"#,
        #"data: {"choices":[{"delta":{"reasoning":"hm"}}]\#(usage(3))}"#,
        #"data: {"choices":[{"delta":{"content":"ok"}}]\#(usage(5))}"#,
        #"data: {"choices":[{"delta":{"content":"!"},"finish_reason":"length"}]\#(usage(6))}"#,
        #"data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":6,"completion_tokens_details":{"reasoning_tokens":0}}}"#,
        "data: [DONE]",
    ]
    for (i, event) in events.enumerated() {
        try Array((event + "\n\n").utf8).withUnsafeBytes { try decoder.feed($0, receivedAt: UInt64(i) * 10_000) }
    }
    let result = decoder.finish()
    #expect(result.tokenEventTimes.count == 4)
    #expect(result.reasoningEvents == 2)
    #expect(result.reasoningEventTokens == (continuousUsage ? 3 : 2))
    #expect(result.reasoningTokens == 0)
    #expect(result.firstAnswerEvent == 2)
    #expect(result.text == "ok!")
}
