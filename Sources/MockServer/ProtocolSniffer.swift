import NIOCore
import NIOHTTP1
import NIOHTTP2

/// The first handler of every mock connection: reads the first bytes and sets the pipeline up for what they are.
///
/// A client with HTTP/2 prior knowledge (curl's `--http2-prior-knowledge`, tpbench's `--http2` on http://) opens
/// with the connection preface "PRI * HTTP/2.0…"; anything else is HTTP/1.1. One port serves both, so a
/// deployment of mocks can be measured over either without a flag on the server side.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private var buffered: ByteBuffer?
    private let configureHTTP1: (Channel) throws -> Void
    private let configureHTTP2: (Channel) throws -> Void

    init(http1: @escaping (Channel) throws -> Void, http2: @escaping (Channel) throws -> Void) {
        configureHTTP1 = http1
        configureHTTP2 = http2
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil {
            buffered = incoming
        } else {
            buffered!.writeBuffer(&incoming)
        }
        let bytes = buffered!.readableBytesView
        let compared = min(bytes.count, Self.preface.count)
        let looksLikeHTTP2 = bytes.prefix(compared).elementsEqual(Self.preface.prefix(compared))
        if looksLikeHTTP2 && compared < Self.preface.count { return }  // wait for the rest of the preface
        do {
            if looksLikeHTTP2 { try configureHTTP2(context.channel) } else { try configureHTTP1(context.channel) }
        } catch {
            context.close(promise: nil)
            return
        }
        let first = buffered!
        buffered = nil
        // The new handlers sit after this one: hand them the bytes read so far, then step out of the way.
        context.fireChannelRead(wrapInboundOut(first))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
