import Testing
@testable import OpenAI

/// Numbers from the wire are checked where they are decoded (#16): an impossible one makes the response
/// `malformed-event` naming the field and the value, and nothing a server sends traps or sizes an array unbounded.
struct HostileNumberTests {
    /// Decodes a stream of `data:` events (each a JSON chunk) for a request with `maxTokens`.
    func decode(_ events: [String], maxTokens: Int? = 8, maxEventBytes: Int = 16 << 20) -> DecodedResponse {
        var decoder = StreamDecoder(maxEventBytes: maxEventBytes, keepText: true, maxTokens: maxTokens)
        decoder.begin(status: 200, contentType: "text/event-stream")
        var t: UInt64 = 1_000
        for event in events + ["[DONE]"] {
            let bytes = Array("data: \(event)\n\n".utf8)
            t += 1_000_000
            let stop = bytes.withUnsafeBytes { (try? decoder.feed($0, receivedAt: t)) == nil }
            if stop { break }
        }
        return decoder.finish()
    }

    func token(_ text: String, usage completion: String? = nil) -> String {
        let usage = completion.map { #","usage":{"prompt_tokens":4,"completion_tokens":\#($0)}"# } ?? ""
        return #"{"choices":[{"index":0,"delta":{"content":"\#(text)"}}]\#(usage)}"#
    }

    func malformed(_ r: DecodedResponse) -> String? {
        if case .malformedEvent(let detail) = r.failure { return detail }
        return nil
    }

    @Test func aCountBeyondMaxTokensIsMalformedNotATrap() {
        // 3e9 once trapped an Int32 conversion (SIGILL, no report); 2^31 − 1 sized per-token arrays.
        for value in ["3000000000", "2147483647", "3e9", "9223372036854775807", "99999999999999999999"] {
            let r = decode([token("a", usage: "1"), token("b", usage: value)])
            let detail = malformed(r)
            #expect(detail?.contains("usage.completion_tokens") == true, "\(value): \(String(describing: r.failure))")
            let shown = value == "3e9" ? "3000000000" : value
            #expect(detail?.contains("is \(shown)") == true, "\(value): \(detail ?? "")")
            #expect(r.tokenEventTimes.count <= 2)
        }
    }

    @Test func fractionsNegativesAndStringsWhereACountBelongs() {
        let cases: [(String, String)] = [("1.5", "not a whole number"), ("-1", "outside 0..."), (#""12""#, "not a number"),
                                         ("true", "not a number"), ("1e400", "not a whole number")]
        for (value, says) in cases {
            let r = decode([token("a", usage: value)])
            #expect(malformed(r)?.contains(says) == true, "\(value): \(String(describing: r.failure))")
            #expect(malformed(r)?.contains("usage.completion_tokens") == true)
        }
        // Whole numbers written as floats are counts; null is "no usage".
        #expect(decode([token("a", usage: "1.0"), token("b", usage: "2")]).failure == nil)
        #expect(decode([token("a", usage: "null")]).failure == nil)
    }

    @Test func aCumulativeCountThatGoesBackIsMalformed() {
        let r = decode([token("a", usage: "1"), token("b", usage: "3"), token("c", usage: "2")])
        #expect(malformed(r) == "usage.completion_tokens went back from 3 to 2")
    }

    @Test func theBoundIsMaxTokensPlusTheStatedSlack() {
        // max_tokens 8: slack 16 + 10% = 16, so 24 is the last count believed.
        #expect(StreamDecoder.tokenSlack(for: 8) == 16)
        #expect(decode([token("a", usage: "24")]).failure == nil)
        #expect(malformed(decode([token("a", usage: "25")]))?.contains("outside 0...24") == true)
        // Without max_tokens the absolute bound (2^20) holds.
        #expect(decode([token("a", usage: "1048576")], maxTokens: nil).failure == nil)
        #expect(malformed(decode([token("a", usage: "1048577")], maxTokens: nil)) != nil)
        // More token events than the bound allows: a server streaming forever is cut, not buffered forever.
        let flood = (0..<40).map { _ in token("x") }
        let r = decode(flood)
        #expect(malformed(r) == "more than 24 token events (max_tokens plus slack)")
        #expect(r.tokenEventTimes.count == 24)
    }

    @Test func promptCountsAndChoiceIndexAreChecked() {
        let hugePrompt = #"{"choices":[{"index":0,"delta":{"content":"a"}}],"usage":{"prompt_tokens":2000000000,"completion_tokens":1}}"#
        #expect(malformed(decode([hugePrompt]))?.contains("usage.prompt_tokens is 2000000000") == true)
        let otherChoice = #"{"choices":[{"index":3,"delta":{"content":"a"}}]}"#
        #expect(malformed(decode([otherChoice])) == "choices[].index is 3 in the answer to a request for one choice")
        let fractionalIndex = #"{"choices":[{"index":0.5,"delta":{"content":"a"}}]}"#
        #expect(malformed(decode([fractionalIndex]))?.contains("choices[].index is 0.5") == true)
    }

    @Test func keptTextIsBoundedLikeAnEvent() {
        // 64-byte bound: each event fits, their sum does not.
        let events = (0..<10).map { _ in token("0123456789") }
        let r = decode(events, maxTokens: 100, maxEventBytes: 64)
        #expect(r.failure == .eventTooLarge(limit: 64))
        #expect(r.text.utf8.count <= 64)
    }

    @Test func aWholeJSONBodyIsCheckedToo() {
        var decoder = StreamDecoder(maxTokens: 8)
        decoder.begin(status: 200, contentType: "application/json")
        let body = Array(#"{"choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":-7}}"#.utf8)
        body.withUnsafeBytes { try? decoder.feed($0, receivedAt: 5) }
        let r = decoder.finish()
        #expect(malformed(r)?.contains("usage.completion_tokens is -7") == true)
    }

    @Test func aDeclaredContentLengthBeyondTheBoundFailsAtOnce() {
        var decoder = StreamDecoder(maxEventBytes: 1024, maxTokens: 8)
        decoder.begin(status: 200, contentType: "application/json", declaredLength: 10_000_000_000)
        let threw = Array("{".utf8).withUnsafeBytes { (try? decoder.feed($0, receivedAt: 1)) == nil }
        #expect(threw)
        #expect(decoder.finish().failure == .eventTooLarge(limit: 1024))
    }
}
