import LatencyModel
import NIOCore
import NIOHTTP1
import JSON

/// Routes one connection's requests to its replica's scheduler. Runs on the scheduler's event loop.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private static let maxBodyBytes = 32 << 20
    private let scheduler: ReplicaScheduler
    /// nil on an HTTP/2 stream (see `ActiveRequest.raw`).
    private let raw: RawChunkWriter?
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false
    private var currentRequestID: Int?

    init(scheduler: ReplicaScheduler, raw: RawChunkWriter?) {
        self.scheduler = scheduler
        self.raw = raw
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = nil
            tooLarge = false
        case .body(var chunk):
            if tooLarge { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maxBodyBytes {
                tooLarge = true
                body = nil
                return
            }
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            self.head = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            if tooLarge {
                HTTPResponder.send(
                    context.channel, error: APIError(status: 413, message: "Request body over 32 MiB.",
                        type: "BadRequestError", param: nil), keepAlive: false)
                return
            }
            route(head, bytes, channel: context.channel)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let id = currentRequestID { scheduler.clientGone(id) }
        currentRequestID = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func route(_ head: HTTPRequestHead, _ body: [UInt8], channel: Channel) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        // An HTTP/2 stream has no keep-alive of its own (NIO reads a 2.0 head as "close"): the connection stays, and a
        // Connection header would be a protocol error there.
        let keepAlive = head.version.major >= 2 || head.isKeepAlive
        let config = scheduler.config
        switch (head.method, path) {
        case (.GET, "/health"):
            HTTPResponder.send(
                channel, status: scheduler.isHealthy ? .ok : .serviceUnavailable, body: "", keepAlive: keepAlive)
        case (.GET, "/v1/models"):
            HTTPResponder.send(channel, status: .ok, body: modelsBody(), keepAlive: keepAlive)
        case (.GET, "/version"):
            HTTPResponder.send(channel, status: .ok, body: "{\"version\":\"0.11.0-tpbench-mock\"}", keepAlive: keepAlive)
        case (.GET, "/metrics"):
            var buffer = channel.allocator.buffer(capacity: 16_384)
            // Fixed-latency mode has no step loop to refresh the gauges, so a scrape refreshes them.
            scheduler.updateGauges()
            buffer.writeString(scheduler.metrics.exposition())
            HTTPResponder.send(
                channel, status: .ok, body: buffer, contentType: "text/plain; version=0.0.4; charset=utf-8",
                keepAlive: keepAlive)
        case (.GET, "/gpu-metrics"):
            // What a DCGM exporter beside this replica would serve (simulated from the latency model's steps).
            HTTPResponder.send(
                channel, status: .ok, body: scheduler.gpus.exposition(now: ReplicaScheduler.now()),
                contentType: "text/plain; version=0.0.4; charset=utf-8", keepAlive: keepAlive)
        case (.POST, "/v1/chat/completions"), (.POST, "/v1/completions"):
            let kind: CompletionRequest.Kind = path == "/v1/completions" ? .completion : .chat
            do {
                let request = try CompletionRequest.parse(
                    body, kind: kind, servedModels: config.servedModelNames,
                    maxModelLength: config.replicaSpec.model.maxModelLength, tokenizer: scheduler.tokenizer,
                    prefixBlockSize: scheduler.prefixCache?.blockSize)
                currentRequestID = scheduler.submit(request, channel: channel, raw: raw, keepAlive: keepAlive)
            } catch {
                HTTPResponder.send(channel, error: error, keepAlive: keepAlive)
            }
        case (.POST, "/reset_prefix_cache"):
            // vLLM's endpoint (compare runs call it between targets).
            scheduler.prefixCache?.reset()
            HTTPResponder.send(channel, status: .ok, body: "", contentType: "text/plain", keepAlive: keepAlive)
        case (.POST, "/tokenize"):
            respond(channel, keepAlive: keepAlive) { () throws(APIError) -> String in try tokenizeBody(body) }
        case (.POST, "/detokenize"):
            respond(channel, keepAlive: keepAlive) { () throws(APIError) -> String in try detokenizeBody(body) }
        case (_, "/health"), (_, "/v1/models"), (_, "/reset_prefix_cache"), (_, "/metrics"), (_, "/gpu-metrics"), (_, "/v1/chat/completions"), (_, "/v1/completions"),
            (_, "/tokenize"), (_, "/detokenize"):
            HTTPResponder.send(
                channel, error: APIError(status: 405, message: "Method Not Allowed", type: "BadRequestError",
                    param: nil), keepAlive: keepAlive)
        default:
            HTTPResponder.send(channel, error: .notFound("Not Found: \(path)"), keepAlive: keepAlive)
        }
    }

    private func respond(_ channel: Channel, keepAlive: Bool, _ make: () throws(APIError) -> String) {
        do {
            HTTPResponder.send(channel, status: .ok, body: try make(), keepAlive: keepAlive)
        } catch {
            HTTPResponder.send(channel, error: error, keepAlive: keepAlive)
        }
    }

    private func modelsBody() -> String {
        let config = scheduler.config
        let created = ActiveRequest.epochOffset + Int(ReplicaScheduler.now() / 1_000_000_000)
        let root = config.servedModelNames[0]
        var out = "{\"object\":\"list\",\"data\":["
        for (i, name) in config.servedModelNames.enumerated() {
            if i > 0 { out += "," }
            out += "{\"id\":"
            JSONValue.writeString(name, into: &out)
            out += ",\"object\":\"model\",\"created\":\(created),\"owned_by\":\"vllm\",\"root\":"
            JSONValue.writeString(root, into: &out)
            out += ",\"parent\":null,\"max_model_len\":\(config.replicaSpec.model.maxModelLength)}"
        }
        return out + "]}"
    }

    private func parseObject(_ body: [UInt8]) throws(APIError) -> JSONValue {
        guard let json = try? JSONValue.parse(bytes: body), case .object = json else {
            throw .badRequest("Request body must be a JSON object")
        }
        if let model = json["model"]?.stringValue, !scheduler.config.servedModelNames.contains(model) {
            throw .notFound("The model `\(model)` does not exist.", param: "model")
        }
        return json
    }

    /// vLLM's /tokenize: `prompt` (plain text) or `messages` (billed through the chat template).
    private func tokenizeBody(_ body: [UInt8]) throws(APIError) -> String {
        let json = try parseObject(body)
        let tokenizer = scheduler.tokenizer
        let ids: [Int]
        if let messages = json["messages"]?.arrayValue {
            ids = tokenizer.chatTemplateIDs(
                messages.map {
                    .init(role: $0["role"]?.stringValue ?? "user", content: CompletionRequest.text(of: $0["content"]))
                })
        } else if let prompt = json["prompt"]?.stringValue {
            ids = tokenizer.ids(prompt)
        } else {
            throw .badRequest("Field required: prompt or messages", param: "prompt")
        }
        let list = ids.map(String.init).joined(separator: ",")
        return "{\"count\":\(ids.count),\"max_model_len\":\(scheduler.config.replicaSpec.model.maxModelLength),"
            + "\"tokens\":[\(list)],\"token_strs\":null}"
    }

    private func detokenizeBody(_ body: [UInt8]) throws(APIError) -> String {
        let json = try parseObject(body)
        guard let items = json["tokens"]?.arrayValue else {
            throw .badRequest("Field required: tokens", param: "tokens")
        }
        let ids = items.compactMap(\.intValue)
        guard ids.count == items.count else { throw .badRequest("tokens must be integers", param: "tokens") }
        var out = "{\"prompt\":"
        JSONValue.writeString(scheduler.tokenizer.text(ids), into: &out)
        return out + "}"
    }
}
