import NIOCore
import NIOPosix
import NIOConcurrencyHelpers

/// One thing a misbehaving server does while answering a request.
enum FaultStep: Sendable {
    case send([UInt8])
    /// Pause before the next step (milliseconds).
    case wait(Double)
    /// Abortive close: SO_LINGER 0 makes close() send RST, as a crashed server or proxy would.
    case reset
    /// Orderly close (FIN) after what was sent.
    case close
    /// Hold the connection open and send nothing more, forever.
    case stall

    static func text(_ string: String) -> FaultStep { .send(Array(string.utf8)) }
}

/// A raw TCP server speaking just enough HTTP/1.1 to misbehave at the byte level (headers then silence, a 10 MB
/// line, invalid UTF-8, HTML, resets) in ways an HTTP framework would refuse to produce.
///
/// `GET /v1/models` is answered normally unless `models` overrides it; every other request runs the script with
/// the server-wide request index and the request's index on its connection (0 = first on a new connection).
final class FaultServer: Sendable {
    typealias Script = @Sendable (_ request: Int, _ onConnection: Int) -> [FaultStep]

    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    let counters: Counters

    final class Counters: Sendable {
        let state = NIOLockedValueBox<(connections: Int, requests: Int)>((0, 0))
        var connections: Int { state.withLockedValue { $0.connections } }
        var requests: Int { state.withLockedValue { $0.requests } }
    }

    /// - Parameter others: the answer to every other path (/tokenize, /metrics …); default 404.
    static func start(port: Int = 0, models: [FaultStep]? = nil, others: [FaultStep]? = nil,
                      script: @escaping Script) async throws -> FaultServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counters = Counters()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counters.state.withLockedValue { $0.connections += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RawHandler(script: script, models: models, others: others, counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return FaultServer(port: channel.localAddress?.port ?? 0, group: group, channel: channel, counters: counters)
    }

    private init(port: Int, group: MultiThreadedEventLoopGroup, channel: any Channel, counters: Counters) {
        self.port = port
        self.group = group
        self.channel = channel
        self.counters = counters
    }

    /// Stops listening and drops every open connection (the server "dies").
    func shutdown() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

private final class RawHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let script: FaultServer.Script
    let models: [FaultStep]?
    let others: [FaultStep]?
    let counters: FaultServer.Counters
    private var pending: [UInt8] = []
    private var onConnection = 0
    private var busy = false

    init(script: @escaping FaultServer.Script, models: [FaultStep]?, others: [FaultStep]?, counters: FaultServer.Counters) {
        self.script = script
        self.models = models
        self.others = others
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        nextRequest(context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Parses one complete request (head + Content-Length body) off `pending` and answers it.
    private func nextRequest(context: ChannelHandlerContext) {
        guard !busy, let headEnd = find([13, 10, 13, 10], in: pending) else { return }
        let head = String(decoding: pending[..<headEnd], as: UTF8.self)
        var length = 0
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        guard pending.count >= headEnd + 4 + length else { return }
        pending.removeFirst(headEnd + 4 + length)
        let requestLine = head.prefix { $0 != "\r" }
        busy = true
        let steps: [FaultStep]
        if requestLine.hasPrefix("GET /v1/models") {
            steps = models ?? FaultResponses.json(#"{"object":"list","data":[{"id":"m","object":"model"}]}"#)
        } else if !requestLine.contains("completions") {
            // /tokenize, /metrics and the like: absent, as on a minimal server (calibration falls back).
            steps = others ?? FaultResponses.json(#"{"error":{"message":"not found"}}"#, status: "404 Not Found")
        } else {
            let index = counters.state.withLockedValue { state -> Int in
                state.requests += 1
                return state.requests - 1
            }
            steps = script(index, onConnection)
            onConnection += 1
        }
        run(steps[...], context: context)
    }

    private func run(_ steps: ArraySlice<FaultStep>, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        guard let step = steps.first else {
            busy = false
            nextRequest(context: context)
            return
        }
        let rest = steps.dropFirst()
        switch step {
        case .send(let bytes):
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: bytes)), promise: nil)
            run(rest, context: context)
        case .wait(let ms):
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let me = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(ms * 1e6))) {
                me.value.run(rest, context: bound.value)
            }
        case .reset:
            let channel = context.channel
            if let provider = channel as? any SocketOptionProvider {
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
            } else {
                channel.close(promise: nil)
            }
        case .close:
            context.close(promise: nil)
        case .stall:
            break
        }
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}

/// Building blocks of OpenAI-shaped (and deliberately mis-shaped) responses.
enum FaultResponses {
    static func head(status: String = "200 OK", contentType: String = "text/event-stream",
                     extra: [String] = [], contentLength: Int? = nil) -> FaultStep {
        var lines = ["HTTP/1.1 \(status)", "Content-Type: \(contentType)"] + extra
        if let contentLength { lines.append("Content-Length: \(contentLength)") } else { lines.append("Connection: close") }
        return .text(lines.joined(separator: "\r\n") + "\r\n\r\n")
    }

    /// A complete response with a body, kept alive.
    static func json(_ body: String, status: String = "200 OK", contentType: String = "application/json",
                     extra: [String] = []) -> [FaultStep] {
        [head(status: status, contentType: contentType, extra: extra, contentLength: body.utf8.count), .text(body)]
    }

    static func event(_ data: String) -> FaultStep { .text("data: \(data)\n\n") }

    static func chunk(_ content: String, finish: String? = nil) -> String {
        let finishJSON = finish.map { "\"\($0)\"" } ?? "null"
        return #"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"\#(content)"},"finish_reason":\#(finishJSON)}]}"#
    }

    /// `tokens` token events `gapMs` apart (the last with a finish reason when `finish`), no terminator.
    static func tokens(_ count: Int, gapMs: Double = 2, finish: Bool = true) -> [FaultStep] {
        (0..<count).flatMap { i -> [FaultStep] in
            [.wait(gapMs), event(chunk("tok ", finish: finish && i == count - 1 ? "length" : nil))]
        }
    }

    /// A correct streamed answer closed after [DONE] (Connection: close framing, as many servers do).
    static func goodStream(tokens count: Int = 5) -> [FaultStep] {
        [head()] + tokens(count) + [event("[DONE]"), .close]
    }
}
