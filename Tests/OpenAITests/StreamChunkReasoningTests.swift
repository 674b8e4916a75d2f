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
