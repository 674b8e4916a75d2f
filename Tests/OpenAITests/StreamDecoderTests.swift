import Testing
@testable import OpenAI

private func decodeChunk(_ json: String) throws -> StreamChunk {
    try Array(json.utf8).withUnsafeBytes { try StreamChunk.decode($0) }
}

@Test func roleOnlyChunkCarriesNoTokens() throws {
    let chunk = try decodeChunk(#"{"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#)
    #expect(!chunk.carriesTokens)
    #expect(chunk.finishReason == nil)
}

@Test func chatContentReasoningUsageAndEscapes() throws {
    let chunk = try decodeChunk(#"""
        {"choices":[{"index":0,"delta":{"reasoning_content":"think\n","content":"a \"q\" \u00e9\ud83d\ude42"},
        "finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}
        """#)
    #expect(chunk.content == "a \"q\" é🙂")
    #expect(chunk.reasoning == "think\n")
    #expect(chunk.finishReason == "stop")
    #expect(chunk.promptTokens == 12)
    #expect(chunk.completionTokens == 5)
}

@Test func completionsTextAndNullContent() throws {
    let text = try decodeChunk(#"{"choices":[{"index":0,"text":" world","logprobs":null,"finish_reason":null}]}"#)
    #expect(text.content == " world")
    let nullContent = try decodeChunk(#"{"choices":[{"delta":{"content":null}}]}"#)
    #expect(!nullContent.carriesTokens)
}

@Test func inBandErrorsInBothShapes() throws {
    let nested = try decodeChunk(#"{"error":{"message":"boom","type":"x","param":null,"code":500}}"#)
    #expect(nested.errorMessage == "boom (code 500)")
    let flat = try decodeChunk(#"{"object":"error","message":"bad","type":"BadRequestError","code":400}"#)
    #expect(flat.errorMessage == "bad")
    // "object" is compared without building a String, unless it has escapes.
    let escaped = try decodeChunk(#"{"object":"\u0065rror","message":"esc"}"#)
    #expect(escaped.errorMessage == "esc")
    let chunk = try decodeChunk(#"{"object":"chat.completion.chunk","choices":[]}"#)
    #expect(chunk.errorMessage == nil)
    let nullObject = try decodeChunk(#"{"object":null,"choices":[]}"#)
    #expect(nullObject.errorMessage == nil)
}

@Test(arguments: [#"{"choices":[{"delta":{"content":"x"}}"#, #"{"a":1} x"#, "not json", #"{"a":tru}"#])
func malformedChunksThrow(json: String) {
    #expect(throws: (any Error).self) { try decodeChunk(json) }
}

/// Numbers are skipped (or read) without allocating, and still by JSON's grammar; a count must be a whole number
/// (anything else is an error naming the field, never a silently missing count).
@Test(arguments: ["0", "-0", "7", "-12", "1732838400", "0.5", "-0.5e+3", "1E9", "2e-7", "123456789012345678901"])
func validNumbersAreSkippedAndRead(number: String) throws {
    let json = #"{"created":\#(number),"choices":[{"index":0,"delta":{"content":"x"}}],"#
        + #""usage":{"prompt_tokens":3,"completion_tokens":\#(number)}}"#
    let expected = Double(number)!
    if expected.rounded() == expected, abs(expected) < 1e15 {
        let chunk = try decodeChunk(json)
        #expect(chunk.content == "x")
        #expect(chunk.completionTokens == Int(expected))
    } else {
        #expect { try decodeChunk(json) } throws: { "\($0)".contains("usage.completion_tokens is \(number)") }
    }
    // Where no count belongs, any valid number is skipped.
    #expect(try decodeChunk(#"{"created":\#(number),"choices":[{"index":0,"delta":{"content":"y"}}]}"#).content == "y")
}

@Test(arguments: ["01", "+1", "1.", ".5", "-", "1e", "1e+", "--1", "0x1"])
func invalidNumbersAreMalformed(number: String) {
    #expect(throws: (any Error).self) {
        try decodeChunk(#"{"created":\#(number),"choices":[{"delta":{"content":"x"}}]}"#)
    }
}

/// Bad escapes are malformed whether the text is kept or only checked for presence (the fast path).
@Test(arguments: [#"\q"#, #"\u12"#, #"\u12G4"#, #"\x41"#], [true, false])
func badEscapesAreMalformedWithOrWithoutText(escape: String, keepText: Bool) {
    let json = #"{"choices":[{"delta":{"content":"a\#(escape)b"}}]}"#
    #expect(throws: (any Error).self) {
        try Array(json.utf8).withUnsafeBytes { try StreamChunk.decode($0, keepText: keepText) }
    }
}

@Test func goodEscapesPassWithoutText() throws {
    let json = #"{"choices":[{"delta":{"content":"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE42"}}]}"#
    let chunk = try Array(json.utf8).withUnsafeBytes { try StreamChunk.decode($0, keepText: false) }
    #expect(chunk.carriesTokens)
}

@Test func tokensOfEmptyDeltasAreCarriedByTheNextEventAndTheLast() throws {
    // Seen on real vLLM with a byte-level BPE: a token that ends inside a UTF-8 character is sent as an empty delta
    // (with its usage); the next event's text includes it. Trailing empties count toward the last event.
    var decoder = StreamDecoder()
    decoder.begin(status: 200, contentType: "text/event-stream")
    let events = [
        #"data: {"choices":[{"delta":{"role":"assistant","content":""}}],"usage":{"prompt_tokens":3,"completion_tokens":0}}"#,
        #"data: {"choices":[{"delta":{"content":"a"}}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#,
        #"data: {"choices":[{"delta":{"content":""}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
        #"data: {"choices":[{"delta":{"content":"é"}}],"usage":{"prompt_tokens":3,"completion_tokens":3}}"#,
        #"data: {"choices":[{"delta":{"content":""},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#,
        "data: [DONE]",
    ]
    for (i, event) in events.enumerated() {
        try Array((event + "\n\n").utf8).withUnsafeBytes { try decoder.feed($0, receivedAt: UInt64(i) * 10_000) }
    }
    let result = decoder.finish()
    #expect(result.tokenEventTimes.values == [10_000, 30_000])
    #expect(result.exactTokensPerEvent == [1, 3], "2 tokens in the second event, the trailing one added to it")
    #expect(result.completionTokens == 4)
}

@Test func decoderTimestampsTokenEventsAndCountsPerEventUsage() throws {
    var decoder = StreamDecoder()
    decoder.begin(status: 200, contentType: "text/event-stream")
    let events = [
        #"data: {"choices":[{"delta":{"role":"assistant","content":""}}],"usage":{"prompt_tokens":3,"completion_tokens":0}}"#,
        #"data: {"choices":[{"delta":{"content":"ab"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
        #"data: {"choices":[{"delta":{"content":"c"},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":3}}"#,
        #"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":3}}"#,
        "data: [DONE]",
    ]
    for (i, event) in events.enumerated() {
        try Array((event + "\n\n").utf8).withUnsafeBytes { try decoder.feed($0, receivedAt: UInt64(i) * 10_000) }
    }
    let result = decoder.finish()
    #expect(result.tokenEventTimes.values == [10_000, 20_000])
    #expect(result.exactTokensPerEvent == [2, 1])
    #expect(result.text == "abc")
    #expect(result.completionTokens == 3)
    #expect(result.promptTokens == 3)
    #expect(result.sawDone)
    #expect(result.finishReason == "length")
}

@Test func nonStreamedJSONBodyIsOneEvent() throws {
    var decoder = StreamDecoder()
    decoder.begin(status: 200, contentType: "application/json")
    let body = #"{"choices":[{"message":{"role":"assistant","content":"hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":2}}"#
    let bytes = Array(body.utf8)
    try bytes[..<20].withUnsafeBytes { try decoder.feed($0, receivedAt: 5) }
    try bytes[20...].withUnsafeBytes { try decoder.feed($0, receivedAt: 9) }
    let result = decoder.finish()
    #expect(!result.streamed)
    #expect(result.tokenEventTimes.values == [9])
    #expect(result.text == "hi there")
    #expect(result.completionTokens == 2)
}

@Test func errorBodyMessageIsExtracted() {
    #expect(errorMessage(fromBody: Array(#"{"error":{"message":"model not found","type":"NotFoundError","code":404}}"#.utf8))
            == "model not found (code 404)")
    #expect(errorMessage(fromBody: Array(#"{"detail":"Not Found"}"#.utf8)) == "Not Found")
    #expect(errorMessage(fromBody: Array("<html>bad gateway</html>".utf8)) == "<html>bad gateway</html>")
}

/// Found by fuzzing (FuzzChunk): `{"choices":[[[[…` nested tens of thousands deep overflowed the loop thread's
/// stack in the scanner's recursion. It must be a malformed event instead.
@Test func deeplyNestedChunkIsMalformedNotACrash() throws {
    let deep = #"{"choices":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
    #expect(throws: (any Error).self) { try decodeChunk(deep) }
    let shallow = #"{"choices":[{"delta":{"content":"x"}}],"x":"# + String(repeating: "[", count: 200)
        + String(repeating: "]", count: 200) + "}"
    #expect(try decodeChunk(shallow).content == "x")
    var decoder = StreamDecoder()
    decoder.begin(status: 200, contentType: "text/event-stream")
    #expect(throws: StreamDecoder.Failure.self) {
        try Array(("data: " + deep + "\n\n").utf8).withUnsafeBytes { try decoder.feed($0, receivedAt: 1) }
    }
}

/// Event times keep 4 bytes each (µs after the first) and switch to nanoseconds past UInt32's range.
@Test func eventTimesAreCompactAndSurviveLongStreams() {
    var times = EventTimes()
    let start: UInt64 = 5_000_000_123
    times.append(start)
    times.append(start + 20_000_456)  // 20.000456 ms later: kept to the microsecond
    #expect(times.values == [start, start + 20_000_000])
    #expect(times.last == start + 20_000_000)
    let beyond = start + (UInt64(UInt32.max) + 5) * 1000  // 71.6 minutes after the first event
    times.append(beyond)
    #expect(times.count == 3)
    #expect(times.values == [start, start + 20_000_000, beyond])
    times.append(beyond + 7)
    #expect(times.values.last == beyond + 7 && times.last == beyond + 7)
}
