/// Turns one HTTP response of an OpenAI-compatible server into timed token events, text, usage and errors.
///
/// Feed it the status, then body buffers with their receive times, then call `finish()`. Streaming (SSE)
/// responses are decoded event by event as they arrive; a JSON body (non-streaming request) is decoded whole
/// at the end, and its only token event is the end of the body (TTFT = E2E).
package struct StreamDecoder: Sendable {
    package enum Failure: Error, Equatable, Sendable {
        case eventTooLarge(limit: Int)
        case malformedEvent(String)
    }

    package private(set) var result = DecodedResponse()
    private var parser: SSEParser
    private var mode: Mode = .undetermined
    private var body: [UInt8] = []
    private let maxBodyBytes: Int
    private var lastCompletionTokens = 0
    private var lastReceivedAt: UInt64 = 0
    /// Whether generated text is collected (outputs kept, schema checked); otherwise events are only counted.
    private let keepText: Bool
    /// The first bytes of a streamed body until an event arrives: a 200 answer that never frames one (an HTML
    /// page, a proxy's text) is then reported with what it was instead of as a silently empty stream.
    private var leadingBytes: [UInt8] = []
    private var contentType = ""
    private var declaredTooLarge = false

    private enum Mode { case undetermined, sse, json, errorBody }

    /// The most tokens a response may report or carry in events: the request's max_tokens plus
    /// `tokenSlack(for:)`, or `absoluteTokenLimit` when the request set none. Beyond it the response is
    /// `malformed-event`: a count from the wire sizes per-event arrays, so it must not be believed unbounded.
    private let tokenLimit: Int
    /// The text kept per response (outputs, schema check), as the event bound: beyond it, `event-too-large`.
    private let maxTextBytes: Int

    /// Completion tokens a response may report without a max_tokens: 1,048,576 (8 MiB of event times).
    package static let absoluteTokenLimit = 1 << 20
    /// Prompt tokens a response may report: 2^30 (no model has a context near it).
    package static let promptTokenLimit = 1 << 30
    /// Allowance over max_tokens for servers that count a stop token or the like: 16 tokens plus 10%.
    package static func tokenSlack(for maxTokens: Int) -> Int { 16 + maxTokens / 10 }

    package init(maxEventBytes: Int = 16 << 20, keepText: Bool = true, maxTokens: Int? = nil) {
        self.keepText = keepText
        if let maxTokens, maxTokens >= 0 {
            tokenLimit = min(Self.absoluteTokenLimit, maxTokens + Self.tokenSlack(for: maxTokens))
        } else {
            tokenLimit = Self.absoluteTokenLimit
        }
        maxTextBytes = maxEventBytes
        parser = SSEParser(maxEventBytes: maxEventBytes)
        maxBodyBytes = maxEventBytes
        // Room for a short answer's events; longer ones grow it (by doubling) as they arrive.
        result.tokenEventTimes.reserveCapacity(64)
    }

    /// Whether a token-carrying event has arrived.
    package var hasFirstToken: Bool { !result.tokenEventTimes.isEmpty }

    /// Records the status line; decides how to read the body.
    /// - Parameter declaredLength: the Content-Length; a JSON body declared beyond the bound fails at its first
    ///   byte instead of after the bound's worth of them.
    package mutating func begin(status: Int, contentType: String?, declaredLength: Int64? = nil) {
        result.httpStatus = status
        let type = contentType?.lowercased() ?? ""
        self.contentType = type
        if status < 200 || status >= 300 {
            mode = .errorBody
        } else if type.hasPrefix("application/json") {
            mode = .json
            result.streamed = false
            if let declaredLength, declaredLength > Int64(maxBodyBytes) { declaredTooLarge = true }
        } else {
            // text/event-stream, or a server that forgot the header: try SSE.
            mode = .sse
        }
    }

    /// Consumes a body buffer. Throws to stop the transfer (the failure is also kept in `result`).
    package mutating func feed(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) throws {
        lastReceivedAt = receivedAt
        switch mode {
        case .undetermined, .sse:
            if result.eventCount == 0 && leadingBytes.count < 120 { leadingBytes += bytes.prefix(120) }
            // The parser is swapped out while it calls back into self (exclusive access), then swapped back.
            // A swap, not a copy: a copy would share the parser's buffers and make every append copy them.
            var parser = SSEParser.placeholder
            swap(&parser, &self.parser)
            defer { swap(&parser, &self.parser) }
            do {
                try parser.feed(bytes) { event in try self.handleEvent(event, receivedAt: receivedAt) }
                // Only a stream without any event reports them; 150 bytes per stream add up at 10,000 streams.
                if result.eventCount > 0 && !leadingBytes.isEmpty { leadingBytes = [] }
            } catch let failure as SSEParser.Failure {
                guard case .eventTooLarge(let limit) = failure else { throw failure }
                result.failure = .eventTooLarge(limit: limit)
                throw Failure.eventTooLarge(limit: limit)
            }
        case .json, .errorBody:
            let room = maxBodyBytes - body.count
            if room <= 0 || declaredTooLarge {
                if mode == .json {
                    result.failure = .eventTooLarge(limit: maxBodyBytes)
                    throw Failure.eventTooLarge(limit: maxBodyBytes)
                }
                return  // error bodies: keep the first part only
            }
            body.append(contentsOf: bytes.prefix(room))
        }
    }

    /// Ends the response and returns what was decoded.
    package mutating func finish() -> DecodedResponse {
        switch mode {
        case .undetermined, .sse:
            if parser.finish() && result.failure == nil && !result.sawDone {
                result.unterminatedEvent = true
            }
            // Comment-only bytes (": ping") are SSE; a stream of them cut short stays `truncated`.
            if result.eventCount == 0 && !leadingBytes.isEmpty && leadingBytes.first != 0x3A && result.failure == nil {
                let sample = String(decoding: leadingBytes.prefix(120), as: UTF8.self)
                result.failure = .malformedEvent("no SSE data event in the response (Content-Type: "
                                                 + "\(contentType.isEmpty ? "none" : contentType)): \(sample)")
            }
        case .json:
            // A body cut at the size bound stays `event-too-large`, not a parse error of its truncated prefix.
            if result.failure == nil { decodeWholeBody() }
        case .errorBody:
            result.httpErrorMessage = errorMessage(fromBody: body)
        }
        return result
    }

    private mutating func handleEvent(_ data: UnsafeRawBufferPointer, receivedAt: UInt64) throws {
        result.eventCount += 1
        result.lastEventTime = receivedAt
        if data.equals("[DONE]") {
            result.sawDone = true
            return
        }
        let chunk: StreamChunk
        do {
            chunk = try StreamChunk.decode(data, keepText: keepText)
        } catch let error as JSONScanner.Malformed {
            let sample = String(decoding: data.prefix(120), as: UTF8.self)
            let failure = Failure.malformedEvent("\(error.reason) at byte \(error.offset) in event: \(sample)")
            if result.failure == nil { result.failure = failure }
            throw failure
        }
        do {
            try apply(chunk, receivedAt: receivedAt)
        } catch {
            if result.failure == nil { result.failure = error }
            throw error
        }
    }

    /// Checks what the chunk claims against what is possible before believing it (the numbers size arrays).
    private func check(_ chunk: StreamChunk) throws(Failure) {
        if let index = chunk.otherChoiceIndex {
            throw .malformedEvent("choices[].index is \(index) in the answer to a request for one choice")
        }
        if let prompt = chunk.promptTokens, prompt < 0 || prompt > Self.promptTokenLimit {
            throw .malformedEvent("usage.prompt_tokens is \(prompt), outside 0...\(Self.promptTokenLimit)")
        }
        if let completion = chunk.completionTokens {
            if completion < 0 || completion > tokenLimit {
                throw .malformedEvent("usage.completion_tokens is \(completion), outside 0...\(tokenLimit) "
                                      + "(max_tokens plus slack)")
            }
            // The last count reported (by any chunk, usage-only ones too) is the highest: counts never go back.
            if let previous = result.completionTokens, completion < previous {
                throw .malformedEvent("usage.completion_tokens went back from \(previous) to \(completion)")
            }
        }
        if chunk.carriesTokens && result.tokenEventTimes.count >= tokenLimit {
            throw .malformedEvent("more than \(tokenLimit) token events (max_tokens plus slack)")
        }
        if keepText && result.text.utf8.count + result.reasoningBytes + chunk.content.utf8.count
            + chunk.reasoning.utf8.count > maxTextBytes {
            throw .eventTooLarge(limit: maxTextBytes)
        }
    }

    private mutating func apply(_ chunk: StreamChunk, receivedAt: UInt64) throws(Failure) {
        try check(chunk)
        if let message = chunk.errorMessage, result.errorEvent == nil { result.errorEvent = message }
        if chunk.carriesTokens {
            result.tokenEventTimes.append(receivedAt)
            // Reasoning counts as generated tokens (TTFT is the first of either), but the answer is the content:
            // what a schema check reads and a conversation's next turn resends.
            if chunk.carriesAnswer {
                if result.firstAnswerEvent == nil { result.firstAnswerEvent = result.tokenEventTimes.count - 1 }
            } else {
                result.reasoningEvents += 1
            }
            if keepText {
                result.reasoningBytes += chunk.reasoning.utf8.count
                result.text += chunk.content
            }
            if let cumulative = chunk.completionTokens {
                // continuous_usage_stats: usage on every chunk gives the tokens this event carried, including
                // those of chunks before it whose delta was empty (a byte-level BPE token that ends inside a UTF-8
                // character is sent as an empty delta; its text comes with the next token).
                let carried = max(0, cumulative - lastCompletionTokens)
                result.tokensPerEvent.append(Int32(clamping: carried))
                lastCompletionTokens = cumulative
                if !chunk.carriesAnswer { result.reasoningEventTokens += carried }
            } else {
                result.tokensPerEventComplete = false
                if !chunk.carriesAnswer { result.reasoningEventTokens += 1 }
            }
        }
        if let reason = chunk.finishReason { result.finishReason = reason }
        if let prompt = chunk.promptTokens { result.promptTokens = prompt }
        if let cached = chunk.cachedTokens { result.cachedPromptTokens = cached }
        if let reasoning = chunk.reasoningTokens { result.reasoningTokens = reasoning }
        if let completion = chunk.completionTokens { result.completionTokens = completion }
    }

    private mutating func decodeWholeBody() {
        guard !body.isEmpty else { return }
        do {
            let chunk = try body.withUnsafeBytes { try StreamChunk.decode($0) }
            result.eventCount = 1
            result.sawDone = chunk.finishReason != nil || chunk.carriesTokens
            try apply(chunk, receivedAt: lastReceivedAt)
        } catch let failure as Failure {
            result.failure = failure
        } catch let error as JSONScanner.Malformed {
            result.failure = .malformedEvent("\(error.reason) at byte \(error.offset) of the response body")
        } catch {
            result.failure = .malformedEvent("\(error)")
        }
    }
}

/// Everything decoded from one response.
package struct DecodedResponse: Sendable, Equatable {
    package var httpStatus = 0
    /// False when the server answered with one JSON document instead of an event stream.
    package var streamed = true
    /// Receive time (monotonic ns) of every event that carried at least one token.
    package var tokenEventTimes = EventTimes()
    /// Tokens carried by each token event, when the server reported usage per chunk (`continuous_usage_stats`).
    package var tokensPerEvent: [Int32] = []
    package var tokensPerEventComplete = true
    /// All SSE events, including role-only, usage-only and `[DONE]`.
    package var eventCount = 0
    /// Receive time of the last SSE event (usually `[DONE]`): a streamed answer's end, for E2E.
    package var lastEventTime: UInt64?
    package var text = ""
    package var finishReason: String?
    package var promptTokens: Int?
    package var completionTokens: Int?
    /// Prompt tokens served from the server's prefix cache (`usage.prompt_tokens_details.cached_tokens`).
    package var cachedPromptTokens: Int?
    /// Output tokens the server reported as reasoning (`usage.completion_tokens_details.reasoning_tokens`).
    package var reasoningTokens: Int?
    /// Index in `tokenEventTimes` of the first event with answer text (`content`), after any reasoning-only events
    /// (an index, so that its time is the event's own, to the same resolution).
    package var firstAnswerEvent: Int?
    /// Token events that carried reasoning only (`reasoning_content`/`reasoning`).
    package var reasoningEvents = 0
    /// The tokens those events carried: exact with usage on every chunk (continuous_usage_stats), else one per
    /// event (vLLM streams a token a chunk).
    package var reasoningEventTokens = 0
    /// Bytes of reasoning text received (kept out of `text`, counted against the text bound).
    package var reasoningBytes = 0
    package var sawDone = false
    /// An in-band error event's message.
    package var errorEvent: String?
    /// The message of an HTTP error response's body.
    package var httpErrorMessage: String?
    package var failure: StreamDecoder.Failure?
    /// The stream ended in the middle of an event.
    package var unterminatedEvent = false

    package init() {}

    /// Per-event token counts, if every token event had one.
    /// Tokens counted after the last token event (empty deltas at the end of the stream) are added to that
    /// event, so the counts add up to the server's completion_tokens.
    package var exactTokensPerEvent: [Int32]? {
        guard tokensPerEventComplete && tokensPerEvent.count == tokenEventTimes.count && !tokensPerEvent.isEmpty
        else { return nil }
        var counts = tokensPerEvent
        let counted = counts.reduce(0) { $0 + Int($1) }
        if let total = completionTokens, total > counted {
            counts[counts.count - 1] = Int32(clamping: Int(counts[counts.count - 1]) + (total - counted))
        }
        return counts
    }
}
