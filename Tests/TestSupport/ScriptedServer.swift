import NIOCore
import NIOHTTP1
import NIOPosix

/// How the scripted server streams a response: a known schedule the tests compare measurements against.
package struct StreamScript: Sendable {
    package var ttftMs: Double
    package var itlMs: Double
    /// Output tokens per request.
    package var tokens: Int
    /// Tokens carried by each event (multi-token chunks, as with speculative decoding or stream intervals).
    package var tokensPerEvent: Int
    /// Send the final usage chunk (`stream_options.include_usage`).
    package var usage: Bool
    /// Put cumulative usage on every chunk (vLLM's `continuous_usage_stats`).
    package var usagePerChunk: Bool
    package var promptTokens: Int

    package init(ttftMs: Double = 300, itlMs: Double = 20, tokens: Int = 100, tokensPerEvent: Int = 1,
                usage: Bool = true, usagePerChunk: Bool = false, promptTokens: Int = 10) {
        self.ttftMs = ttftMs
        self.itlMs = itlMs
        self.tokens = tokens
        self.tokensPerEvent = tokensPerEvent
        self.usage = usage
        self.usagePerChunk = usagePerChunk
        self.promptTokens = promptTokens
    }

    var eventCount: Int { (tokens + tokensPerEvent - 1) / tokensPerEvent }
}

/// What the server does with each completion request; one behaviour per server instance.
package enum ScriptedBehavior: Sendable {
    /// A correct stream following the script: role chunk at once, token events on schedule, usage, [DONE].
    case stream(StreamScript)
    /// A single JSON response (a non-streaming request) after `ttftMs`.
    case wholeResponse(StreamScript)
    /// An HTTP error with the given body.
    case status(Int, body: String, headers: [(String, String)] = [])
    /// Streams `events` token events, then resets the connection.
    case cutAfter(events: Int, StreamScript)
    /// Streams `events` token events, then an event that is not JSON.
    case malformedAfter(events: Int, StreamScript)
    /// Streams `events` token events, then an in-band `{"error": ...}` event and [DONE].
    case errorEventAfter(events: Int, StreamScript)
    /// Streams every token but ends the response cleanly without a finish_reason or [DONE].
    case endWithoutDone(StreamScript)
    /// Reads the request and never answers.
    case neverAnswer
    /// Answers every request with 200 and the closure's text/plain body (a Prometheus exporter, say), given the URI.
    case text(@Sendable (String) -> String)
}

/// A tiny OpenAI-shaped HTTP/1.1 server on 127.0.0.1 with an exactly known schedule, for client tests.
package final class ScriptedServer: Sendable {
    package let port: Int
    package var baseURL: String { "http://127.0.0.1:\(port)" }
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    package static func start(_ behavior: ScriptedBehavior, model: String = "test-model") async throws -> ScriptedServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        ScriptedHandler(behavior: behavior, model: model))
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(port: channel.localAddress?.port ?? 0, group: group, channel: channel)
    }

    private init(port: Int, group: MultiThreadedEventLoopGroup, channel: any Channel) {
        self.port = port
        self.group = group
        self.channel = channel
    }

    package func shutdown() async throws {
        try? await channel.close()
        try await group.shutdownGracefully()
    }
}

final class ScriptedHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let behavior: ScriptedBehavior
    let model: String
    private var method: HTTPMethod = .GET
    private var uri = ""

    init(behavior: ScriptedBehavior, model: String) {
        self.behavior = behavior
        self.model = model
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            method = head.method
            uri = head.uri
        case .body:
            break
        case .end:
            respond(context: context)
        }
    }

    private func respond(context: ChannelHandlerContext) {
        if method == .GET && uri.hasPrefix("/v1/models") {
            let body = #"{"object":"list","data":[{"id":"\#(model)","object":"model","owned_by":"test"}]}"#
            writeWhole(context: context, status: .ok, body: body, contentType: "application/json")
            return
        }
        let start = NIODeadline.now()
        switch behavior {
        case .stream(let script):
            stream(context: context, script: script, start: start, stopAfter: nil, ending: .done)
        case .wholeResponse(let script):
            let text = String(repeating: "tok ", count: script.tokens)
            let body = #"{"id":"cmpl-1","object":"chat.completion","created":0,"model":"\#(model)","#
                + #""choices":[{"index":0,"message":{"role":"assistant","content":"\#(text)"},"finish_reason":"length"}],"#
                + #""usage":{"prompt_tokens":\#(script.promptTokens),"completion_tokens":\#(script.tokens),"#
                + #""total_tokens":\#(script.promptTokens + script.tokens)}}"#
            let loop = context.eventLoop.assumeIsolated()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            loop.scheduleTask(deadline: start + .nanoseconds(Int64(script.ttftMs * 1e6))) {
                self.writeWhole(context: bound.value, status: .ok, body: body, contentType: "application/json")
            }
        case .status(let code, let body, let headers):
            writeWhole(context: context, status: HTTPResponseStatus(statusCode: code), body: body,
                       contentType: "application/json", extraHeaders: headers)
        case .cutAfter(let events, let script):
            stream(context: context, script: script, start: start, stopAfter: events, ending: .reset)
        case .malformedAfter(let events, let script):
            stream(context: context, script: script, start: start, stopAfter: events, ending: .malformed)
        case .errorEventAfter(let events, let script):
            stream(context: context, script: script, start: start, stopAfter: events, ending: .errorEvent)
        case .endWithoutDone(let script):
            stream(context: context, script: script, start: start, stopAfter: nil, ending: .silentClose)
        case .neverAnswer:
            break
        case .text(let body):
            writeWhole(context: context, status: .ok, body: body(uri), contentType: "text/plain; version=0.0.4")
        }
    }

    private enum Ending { case done, reset, malformed, errorEvent, silentClose }

    private func writeWhole(context: ChannelHandlerContext, status: HTTPResponseStatus, body: String,
                            contentType: String, extraHeaders: [(String, String)] = []) {
        var headers = HTTPHeaders([("content-type", contentType), ("content-length", String(body.utf8.count))])
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func event(_ context: ChannelHandlerContext, _ json: String) {
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "data: \(json)\n\n")))),
                              promise: nil)
    }

    private func chunk(content: String?, role: Bool = false, finish: String? = nil, usage: String? = nil) -> String {
        var delta = role ? #"{"role":"assistant","content":""}"# : "{}"
        if let content { delta = #"{"content":"\#(content)"}"# }
        let finishJSON = finish.map { "\"\($0)\"" } ?? "null"
        var json = #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":0,"model":"\#(model)","#
            + #""choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finishJSON)}]"#
        if let usage { json += #","usage":\#(usage)"# }
        return json + "}"
    }

    private func usageJSON(_ script: StreamScript, completion: Int) -> String {
        #"{"prompt_tokens":\#(script.promptTokens),"total_tokens":\#(script.promptTokens + completion),"completion_tokens":\#(completion)}"#
    }

    private func stream(context: ChannelHandlerContext, script: StreamScript, start: NIODeadline, stopAfter: Int?,
                        ending: Ending) {
        let head = HTTPResponseHead(version: .http1_1, status: .ok,
                                    headers: HTTPHeaders([("content-type", "text/event-stream"),
                                                          ("cache-control", "no-cache")]))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        event(context, chunk(content: nil, role: true, usage: script.usagePerChunk ? usageJSON(script, completion: 0) : nil))
        let events = script.eventCount
        let sendEvents = min(events, stopAfter ?? events)
        if sendEvents == 0 {
            finishStream(context: context, script: script, ending: ending)
        } else {
            scheduleEvent(0, context: context, script: script, start: start, sendEvents: sendEvents, ending: ending)
        }
    }

    /// Schedules one event at its absolute deadline; each event schedules the next, so a stream holds one timer
    /// at a time (scheduling all of them up front made request intake slow enough to skew TTFT).
    private func scheduleEvent(_ i: Int, context: ChannelHandlerContext, script: StreamScript, start: NIODeadline,
                               sendEvents: Int, ending: Ending) {
        let loop = context.eventLoop.assumeIsolated()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let offset = script.ttftMs + Double(i) * script.itlMs
        loop.scheduleTask(deadline: start + .nanoseconds(Int64(offset * 1e6))) {
            let context = bound.value
            guard context.channel.isActive else { return }
            let events = script.eventCount
            let emitted = min(script.tokens, (i + 1) * script.tokensPerEvent)
            let count = emitted - i * script.tokensPerEvent
            let text = String(repeating: "tok ", count: count)
            let last = i == events - 1
            let finish: String? = last && ending != .silentClose ? "length" : nil
            self.event(context, self.chunk(content: text, finish: finish,
                                           usage: script.usagePerChunk ? self.usageJSON(script, completion: emitted) : nil))
            if i == sendEvents - 1 {
                self.finishStream(context: context, script: script, ending: ending)
            } else {
                self.scheduleEvent(i + 1, context: context, script: script, start: start, sendEvents: sendEvents,
                                   ending: ending)
            }
        }
    }

    private func finishStream(context: ChannelHandlerContext, script: StreamScript, ending: Ending) {
        switch ending {
        case .done:
            if script.usage {
                event(context, #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":0,"model":"\#(model)","choices":[],"usage":\#(usageJSON(script, completion: script.tokens))}"#)
            }
            event(context, "[DONE]")
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case .reset:
            // SO_LINGER 0 makes close() send RST: an abrupt cut, as a crashed server or a proxy would.
            let channel = context.channel
            if let provider = channel as? any SocketOptionProvider {
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
            } else {
                channel.close(promise: nil)
            }
        case .malformed:
            event(context, #"{"id":"chatcmpl-1","choices":[{"delta":{"content":"oops"#)
            event(context, "[DONE]")
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case .errorEvent:
            event(context, #"{"error":{"message":"engine overloaded","type":"InternalServerError","param":null,"code":500}}"#)
            event(context, "[DONE]")
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case .silentClose:
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
