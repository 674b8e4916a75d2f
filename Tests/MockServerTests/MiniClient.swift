import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP exchange as a test sees it, with the receive time of every server-sent event.
struct MiniResponse: Sendable {
    var status: Int = 0
    var headers: [(String, String)] = []
    var body = ""
    /// `data:` payloads in order, each with the monotonic time (ns) its last byte arrived.
    var events: [(nanos: UInt64, data: String)] = []
    var startNanos: UInt64 = 0
    var headNanos: UInt64? = nil
    /// The connection closed before the response ended.
    var truncated = false
    var timedOut = false

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var dataEvents: [String] { events.map(\.data) }
}

/// A tiny HTTP/1.1 client on NIO for tests: one connection per request, SSE events timestamped on arrival.
enum MiniClient {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    static func request(
        port: Int, method: HTTPMethod = .POST, path: String, body: String? = nil, timeout: TimeAmount = .seconds(30),
        closeAfterEvents: Int? = nil
    ) async throws -> MiniResponse {
        let promise = group.next().makePromise(of: MiniResponse.self)
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(
                        Collector(promise: promise, closeAfterEvents: closeAfterEvents))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var headers = HTTPHeaders()
        headers.add(name: "host", value: "127.0.0.1")
        headers.add(name: "connection", value: "close")
        var buffer = channel.allocator.buffer(capacity: body?.utf8.count ?? 0)
        if let body {
            headers.add(name: "content-type", value: "application/json")
            headers.add(name: "content-length", value: String(body.utf8.count))
            buffer.writeString(body)
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if body != nil { channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            channel.pipeline.fireUserInboundEventTriggered(TimedOut())
        }
        let response = try await promise.futureResult.get()
        timer.cancel()
        try? await channel.close()
        return response
    }

    struct TimedOut: Sendable {}

    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<MiniResponse>
        let closeAfterEvents: Int?
        var response = MiniResponse()
        var pending: [UInt8] = []
        var done = false

        init(promise: EventLoopPromise<MiniResponse>, closeAfterEvents: Int?) {
            self.promise = promise
            self.closeAfterEvents = closeAfterEvents
            response.startNanos = NIODeadline.now().uptimeNanoseconds
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                response.status = Int(head.status.code)
                response.headers = head.headers.map { ($0.name, $0.value) }
                response.headNanos = NIODeadline.now().uptimeNanoseconds
            case .body(let buffer):
                let now = NIODeadline.now().uptimeNanoseconds
                response.body += String(buffer: buffer)
                pending.append(contentsOf: buffer.readableBytesView)
                while let end = Self.eventEnd(pending) {
                    let text = String(decoding: pending[..<end], as: UTF8.self)
                    pending.removeFirst(end + 2)
                    for line in text.split(separator: "\n") where line.hasPrefix("data: ") {
                        response.events.append((now, String(line.dropFirst(6))))
                    }
                }
                if let limit = closeAfterEvents, response.events.count >= limit {
                    finish()
                    context.close(promise: nil)
                }
            case .end:
                finish()
            }
        }

        static func eventEnd(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 2 else { return nil }
            for i in 0..<(bytes.count - 1) where bytes[i] == 10 && bytes[i + 1] == 10 { return i }
            return nil
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is TimedOut {
                response.timedOut = true
                finish()
                context.close(promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            response.truncated = !done
            finish()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }

        private func finish() {
            guard !done else { return }
            done = true
            promise.succeed(response)
        }
    }
}
