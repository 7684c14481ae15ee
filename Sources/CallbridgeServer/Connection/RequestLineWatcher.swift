import CallbridgeHandlers
import CallbridgeModel
import NIOCore

/// The first handler of every connection, before the HTTP decoder: tells the
/// guard that bytes arrived (the header deadline starts at a request's first
/// byte), and answers `414` itself when the first request line is longer
/// than `maxURIBytes` allows, before the decoder would call it a header
/// overflow. Later requests on the connection are measured by the responder.
final class RequestLineWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let guardHandler: ConnectionGuardHandler
    /// The request line may hold the method, a space, the target, a space and `HTTP/1.1\r`.
    private let maxLineBytes: Int
    private let maxURIBytes: Int
    private var firstLineBytes = 0
    private var firstLineComplete = false
    private var refused = false

    init(guardHandler: ConnectionGuardHandler, maxURIBytes: Int) {
        self.guardHandler = guardHandler
        self.maxURIBytes = maxURIBytes
        self.maxLineBytes = maxURIBytes.saturatingAdding(64)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let buffer = unwrapInboundIn(data)
        guardHandler.rawBytesArrived()
        if !firstLineComplete {
            let view = buffer.readableBytesView
            if let lineFeed = view.firstIndex(of: UInt8(ascii: "\n")) {
                firstLineComplete = true
                firstLineBytes = firstLineBytes.saturatingAdding(lineFeed - view.startIndex)
            } else {
                firstLineBytes = firstLineBytes.saturatingAdding(view.count)
            }
            if firstLineBytes > maxLineBytes {
                refused = true
                refuse(context: context)
                return
            }
        }
        context.fireChannelRead(data)
    }

    private func refuse(context: ChannelHandlerContext) {
        let body = JSONValue.object([
            ("error", .string("uri_too_long")), ("detail", .string("the request target exceeds \(maxURIBytes) bytes")),
        ]).renderedBytes()
        var out = context.channel.allocator.buffer(capacity: body.count + 128)
        out.writeString("HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\ncontent-length: \(body.count)\r\nconnection: close\r\n\r\n")
        out.writeBytes(body)
        context.writeAndFlush(wrapOutboundOut(out)).assumeIsolated().whenComplete { _ in LingeringClose.start(context) }
    }
}
