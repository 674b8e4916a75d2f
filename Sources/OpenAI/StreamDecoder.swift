/// Turns one HTTP response of an OpenAI-compatible server into timed token events, text, usage and errors.
///
/// Feed it the status, then body buffers with their receive times, then call `finish()`. Streaming (SSE)
/// responses are decoded event by event as they arrive; a JSON body (non-streaming request) is decoded whole
/// at the end, and its only token event is the end of the body (TTFT = E2E).
public struct StreamDecoder: Sendable {
    public enum Failure: Error, Equatable, Sendable {
        case eventTooLarge(limit: Int)
        case malformedEvent(String)
    }

    public private(set) var result = DecodedResponse()
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

    private enum Mode { case undetermined, sse, json, errorBody }

    public init(maxEventBytes: Int = 16 << 20, keepText: Bool = true) {
        self.keepText = keepText
        parser = SSEParser(maxEventBytes: maxEventBytes)
        maxBodyBytes = maxEventBytes
        // Room for a short answer's events; longer ones grow it (by doubling) as they arrive.
        result.tokenEventTimes.reserveCapacity(64)
    }

    /// Whether a token-carrying event has arrived.
    public var hasFirstToken: Bool { !result.tokenEventTimes.isEmpty }

    /// Records the status line; decides how to read the body.
    public mutating func begin(status: Int, contentType: String?) {
        result.httpStatus = status
        let type = contentType?.lowercased() ?? ""
        self.contentType = type
        if status < 200 || status >= 300 {
            mode = .errorBody
        } else if type.hasPrefix("application/json") {
            mode = .json
            result.streamed = false
        } else {
            // text/event-stream, or a server that forgot the header: try SSE.
            mode = .sse
        }
    }

    /// Consumes a body buffer. Throws to stop the transfer (the failure is also kept in `result`).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, receivedAt: UInt64) throws {
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
            if room <= 0 {
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
    public mutating func finish() -> DecodedResponse {
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
        apply(chunk, receivedAt: receivedAt)
    }

    private mutating func apply(_ chunk: StreamChunk, receivedAt: UInt64) {
        if let message = chunk.errorMessage, result.errorEvent == nil { result.errorEvent = message }
        if chunk.carriesTokens {
            result.tokenEventTimes.append(receivedAt)
            if keepText {
                result.text += chunk.reasoning
                result.text += chunk.content
            }
            if let cumulative = chunk.completionTokens {
                // continuous_usage_stats: usage on every chunk gives the tokens this event carried, including
                // those of chunks before it whose delta was empty (a byte-level BPE token that ends inside a UTF-8
                // character is sent as an empty delta; its text comes with the next token).
                result.tokensPerEvent.append(Int32(clamping: max(0, cumulative - lastCompletionTokens)))
                lastCompletionTokens = cumulative
            } else {
                result.tokensPerEventComplete = false
            }
        }
        if let reason = chunk.finishReason { result.finishReason = reason }
        if let prompt = chunk.promptTokens { result.promptTokens = prompt }
        if let completion = chunk.completionTokens { result.completionTokens = completion }
    }

    private mutating func decodeWholeBody() {
        guard !body.isEmpty else { return }
        do {
            let chunk = try body.withUnsafeBytes { try StreamChunk.decode($0) }
            result.eventCount = 1
            apply(chunk, receivedAt: lastReceivedAt)
            result.sawDone = chunk.finishReason != nil || chunk.carriesTokens
        } catch let error as JSONScanner.Malformed {
            result.failure = .malformedEvent("\(error.reason) at byte \(error.offset) of the response body")
        } catch {
            result.failure = .malformedEvent("\(error)")
        }
    }
}

/// Everything decoded from one response.
public struct DecodedResponse: Sendable, Equatable {
    public var httpStatus = 0
    /// False when the server answered with one JSON document instead of an event stream.
    public var streamed = true
    /// Receive time (monotonic ns) of every event that carried at least one token.
    public var tokenEventTimes = EventTimes()
    /// Tokens carried by each token event, when the server reported usage per chunk (`continuous_usage_stats`).
    public var tokensPerEvent: [Int32] = []
    public var tokensPerEventComplete = true
    /// All SSE events, including role-only, usage-only and `[DONE]`.
    public var eventCount = 0
    public var text = ""
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var sawDone = false
    /// An in-band error event's message.
    public var errorEvent: String?
    /// The message of an HTTP error response's body.
    public var httpErrorMessage: String?
    public var failure: StreamDecoder.Failure?
    /// The stream ended in the middle of an event.
    public var unterminatedEvent = false

    public init() {}

    /// Per-event token counts, if every token event had one.
    /// Tokens counted after the last token event (empty deltas at the end of the stream) are added to that
    /// event, so the counts add up to the server's completion_tokens.
    public var exactTokensPerEvent: [Int32]? {
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
