import NIOCore
import NIOHTTP1

/// Whole (non-streamed) responses.
enum HTTPResponder {
    static func send(
        _ channel: Channel, status: HTTPResponseStatus, body: String, contentType: String = "application/json",
        keepAlive: Bool, extraHeaders: [(String, String)] = []
    ) {
        var buffer = channel.allocator.buffer(capacity: body.utf8.count)
        buffer.writeString(body)
        send(channel, status: status, body: buffer, contentType: contentType, keepAlive: keepAlive,
            extraHeaders: extraHeaders)
    }

    static func send(
        _ channel: Channel, status: HTTPResponseStatus, body: ByteBuffer, contentType: String, keepAlive: Bool,
        extraHeaders: [(String, String)] = []
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(body.readableBytes))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        for (name, value) in extraHeaders { headers.add(name: name, value: value) }
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)),
            promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(body)), promise: nil)
        let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }

    static func send(_ channel: Channel, error: APIError, keepAlive: Bool) {
        var extra: [(String, String)] = []
        if let retry = error.retryAfterSeconds { extra.append(("retry-after", String(retry))) }
        send(channel, status: HTTPResponseStatus(statusCode: error.status), body: error.body, keepAlive: keepAlive,
            extraHeaders: extra)
    }
}
