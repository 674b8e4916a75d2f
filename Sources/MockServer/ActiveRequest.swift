import JSON
import LatencyModel
import NIOCore
import NIOHTTP1
import SeededRandom

/// One generation request in flight: its output, its connection and the bytes its chunks are built from.
///
/// Confined to its scheduler's event loop (created, mutated and dropped there), hence `@unchecked Sendable`.
final class ActiveRequest: @unchecked Sendable {
    let id: Int
    let request: CompletionRequest
    /// Prompt tokens the prefix cache held (nil: the mock does not cache prefixes), reported as vLLM does in
    /// `usage.prompt_tokens_details.cached_tokens`.
    var cachedTokens: Int?
    let channel: Channel
    /// The socket end of the channel's pipeline, for pre-framed chunks (see `EmissionBatch`).
    /// The connection's socket-end writer on HTTP/1.1; nil on an HTTP/2 stream, whose bytes go through the stream
    /// channel (the HTTP/2 codec frames them).
    let raw: RawChunkWriter?
    let keepAlive: Bool
    let responseID: String
    let created: Int
    let arrivalNanos: UInt64
    /// Output tokens the scheduler will generate (the simulator's output length).
    let plannedTokens: Int
    /// "length" when the plan stops at max_tokens, "stop" when the model ends on its own.
    let plannedFinishReason: String
    private var source: Source
    /// Index of the token at which the connection is cut, or the stream stalls (fault injection).
    var dropAtToken: Int? = nil
    var stallAtToken: Int? = nil

    var generated = 0
    /// Leading tokens that are reasoning (a chat answer of a reasoning mock), streamed as `reasoning_content`.
    let reasoningTokens: Int
    var pendingReasoning = ""
    var fullReasoning = ""
    var pendingText = ""
    var pendingTokens = 0
    var fullText = ""
    var firstTokenNanos: UInt64? = nil
    var lastTokenNanos: UInt64? = nil
    var scheduledNanos: UInt64? = nil
    var headSent = false
    /// For the fixed-latency mode: when this request's next event is due.
    var nextDeadline: UInt64 = 0
    /// Stop-string matching looks at the tail of the text.
    private var stopTail = ""
    private let chunkPrefix: [UInt8]
    private let reasoningPrefix: [UInt8]

    enum Source {
        case prose(TextGenerator)
        case fixed([String])
    }

    init(
        id: Int, request: CompletionRequest, channel: Channel, raw: RawChunkWriter?, keepAlive: Bool, arrivalNanos: UInt64,
        maxModelLength: Int, tokenizer: MockTokenizer, outputLength: MockConfiguration.OutputLength?,
        reasoningTokens: Int = 0, rng: inout SplitMix64
    ) {
        self.id = id
        self.request = request
        self.channel = channel
        self.raw = raw
        self.keepAlive = keepAlive
        self.arrivalNanos = arrivalNanos
        let limit = request.maxTokens ?? max(1, maxModelLength - request.promptTokens)
        let seed = request.seed ?? rng.next()
        var local = SplitMix64(seed: seed)
        if request.schema != nil || request.jsonObject {
            let schema = request.schema ?? .object(JSONObject([("type", .string("object"))]))
            let text = SchemaGenerator.document(schema: schema, budget: limit, seed: seed, tokenizer: tokenizer)
            var pieces = tokenizer.pieces(text).map(String.init)
            var reason = "stop"
            if pieces.count > limit {
                pieces.removeLast(pieces.count - limit)
                reason = "length"
            }
            source = .fixed(pieces)
            plannedTokens = max(1, pieces.count)
            plannedFinishReason = reason
        } else {
            var count = limit
            if !request.ignoreEOS, let length = outputLength {
                let draw = Int((length.mean + length.standardDeviation * local.nextGaussian()).rounded())
                count = min(limit, max(max(1, request.minTokens), draw))
            }
            source = .prose(TextGenerator(rng: SplitMix64(seed: local.next())))
            plannedTokens = count
            plannedFinishReason = count < limit ? "stop" : "length"
        }
        var hex = ""
        for _ in 0..<2 { hex += String(rng.next(), radix: 16) }
        let isChat = request.kind == .chat
        responseID = (isChat ? "chatcmpl-" : "cmpl-") + hex
        created = Int(NIODeadline.now().uptimeNanoseconds / 1_000_000_000) + Self.epochOffset
        var prefix = "data: {\"id\":\"\(responseID)\",\"object\":\""
        prefix += isChat ? "chat.completion.chunk" : "text_completion"
        prefix += "\",\"created\":\(created),\"model\":"
        JSONValue.writeString(request.model, into: &prefix)
        reasoningPrefix = Array((prefix + ",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"").utf8)
        prefix += isChat ? ",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" : ",\"choices\":[{\"index\":0,\"text\":\""
        chunkPrefix = Array(prefix.utf8)
        self.reasoningTokens = isChat ? max(0, min(reasoningTokens, plannedTokens - 1)) : 0
    }

    /// Whether the `generated`-th token (1-based) is reasoning.
    func isReasoning(token: Int) -> Bool { token <= reasoningTokens }

    /// Wall-clock seconds at process start minus uptime, so `created` is a Unix time without Foundation.
    static let epochOffset: Int = {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int(ts.tv_sec) - Int(NIODeadline.now().uptimeNanoseconds / 1_000_000_000)
    }()

    /// The next token's text, or nil (with the finish reason) when a stop string ended the answer.
    func nextPiece() -> (text: String, stoppedBy: String?) {
        let piece: String
        switch source {
        case .fixed(let pieces): piece = generated < pieces.count ? pieces[generated] : ""
        case .prose(var generator):
            piece = generator.next()
            source = .prose(generator)
        }
        generated += 1
        guard !request.stop.isEmpty else { return (piece, nil) }
        let before = stopTail.utf8.count
        stopTail += piece
        for stop in request.stop where !stop.isEmpty {
            if let offset = Self.byteOffset(of: stop, in: stopTail) {
                let keep = offset - before
                return (keep > 0 ? String(decoding: Array(piece.utf8.prefix(keep)), as: UTF8.self) : "", stop)
            }
        }
        let longest = request.stop.map(\.count).max() ?? 0
        if stopTail.count > longest * 2 + 16 { stopTail = String(stopTail.suffix(longest)) }
        return (piece, nil)
    }

    static func byteOffset(of needle: String, in haystack: String) -> Int? {
        let h = Array(haystack.utf8)
        let n = Array(needle.utf8)
        guard n.count <= h.count else { return nil }
        for start in 0...(h.count - n.count) where h[start] == n[0] && Array(h[start..<start + n.count]) == n {
            return start
        }
        return nil
    }

    // MARK: Rendering (hot path: bytes straight into a ByteBuffer, no JSONEncoder)

    func writeStreamHead() {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/event-stream; charset=utf-8")
        headers.add(name: "cache-control", value: "no-cache")
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        headSent = true
    }

    /// The chat role chunk vLLM sends before the first content.
    func writeRoleChunk(into buffer: inout ByteBuffer) {
        buffer.writeString("data: {\"id\":\"\(responseID)\",\"object\":\"chat.completion.chunk\",\"created\":")
        buffer.writeString("\(created),\"model\":")
        var model = ""
        JSONValue.writeString(request.model, into: &model)
        buffer.writeString(model)
        buffer.writeString(
            ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                + "\"finish_reason\":null}]}\n\n")
    }

    /// A chunk of reasoning tokens (never the last chunk: the answer keeps at least one token).
    func writeReasoningChunk(text: String, into buffer: inout ByteBuffer) {
        buffer.writeBytes(reasoningPrefix)
        Self.writeEscaped(text, into: &buffer)
        buffer.writeString("\"},\"logprobs\":null,\"finish_reason\":null}]")
        if request.continuousUsage { writeUsage(into: &buffer) }
        buffer.writeString("}\n\n")
    }

    func writeContentChunk(text: String, finishReason: String?, stopReason: String?, into buffer: inout ByteBuffer) {
        buffer.writeBytes(chunkPrefix)
        Self.writeEscaped(text, into: &buffer)
        buffer.writeString(request.kind == .chat ? "\"},\"logprobs\":null,\"finish_reason\":" : "\",\"logprobs\":null,\"finish_reason\":")
        if let finishReason {
            buffer.writeString("\"\(finishReason)\"")
        } else {
            buffer.writeString("null")
        }
        buffer.writeString(",\"stop_reason\":")
        if let stopReason {
            var s = ""
            JSONValue.writeString(stopReason, into: &s)
            buffer.writeString(s)
        } else {
            buffer.writeString("null")
        }
        buffer.writeString("}]")
        if request.continuousUsage { writeUsage(into: &buffer) }
        buffer.writeString("}\n\n")
    }

    func writeUsageChunk(into buffer: inout ByteBuffer) {
        buffer.writeString("data: {\"id\":\"\(responseID)\",\"object\":\"")
        buffer.writeString(request.kind == .chat ? "chat.completion.chunk" : "text_completion")
        buffer.writeString("\",\"created\":\(created),\"model\":")
        var model = ""
        JSONValue.writeString(request.model, into: &model)
        buffer.writeString(model)
        buffer.writeString(",\"choices\":[]")
        writeUsage(into: &buffer)
        buffer.writeString("}\n\n")
    }

    private func writeUsage(into buffer: inout ByteBuffer) {
        buffer.writeString(",\"usage\":{\"prompt_tokens\":")
        buffer.writeString(String(request.promptTokens))
        buffer.writeString(",\"total_tokens\":")
        buffer.writeString(String(request.promptTokens + generated))
        buffer.writeString(",\"completion_tokens\":")
        buffer.writeString(String(generated))
        if let cachedTokens {
            buffer.writeString(",\"prompt_tokens_details\":{\"cached_tokens\":")
            buffer.writeString(String(cachedTokens))
            buffer.writeString("}")
        }
        if reasoningTokens > 0 {
            buffer.writeString(",\"completion_tokens_details\":{\"reasoning_tokens\":")
            buffer.writeString(String(min(generated, reasoningTokens)))
            buffer.writeString("}")
        }
        buffer.writeString("}")
    }

    static func writeEscaped(_ text: String, into buffer: inout ByteBuffer) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            case 0x09: buffer.writeStaticString("\\t")
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xF)])
            default: buffer.writeInteger(byte)
            }
        }
    }

    /// The whole answer for a non-streaming request.
    func nonStreamingBody(finishReason: String, stopReason: String?) -> String {
        var out = "{\"id\":\"\(responseID)\",\"object\":\""
        out += request.kind == .chat ? "chat.completion" : "text_completion"
        out += "\",\"created\":\(created),\"model\":"
        JSONValue.writeString(request.model, into: &out)
        out += ",\"choices\":[{\"index\":0,"
        if request.kind == .chat {
            out += "\"message\":{\"role\":\"assistant\",\"content\":"
            JSONValue.writeString(fullText, into: &out)
            if reasoningTokens > 0 {
                out += ",\"reasoning_content\":"
                JSONValue.writeString(fullReasoning, into: &out)
            }
            out += ",\"tool_calls\":[]},"
        } else {
            out += "\"text\":"
            JSONValue.writeString(fullText, into: &out)
            out += ","
        }
        out += "\"logprobs\":null,\"finish_reason\":\"\(finishReason)\",\"stop_reason\":"
        if let stopReason { JSONValue.writeString(stopReason, into: &out) } else { out += "null" }
        out += "}],\"usage\":{\"prompt_tokens\":\(request.promptTokens),\"total_tokens\":"
        out += "\(request.promptTokens + generated),\"completion_tokens\":\(generated)"
        if let cachedTokens { out += ",\"prompt_tokens_details\":{\"cached_tokens\":\(cachedTokens)}" }
        if reasoningTokens > 0 {
            out += ",\"completion_tokens_details\":{\"reasoning_tokens\":\(min(generated, reasoningTokens))}"
        }
        out += "}}"
        return out
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
