import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP/1.1 server on an ephemeral loopback port, for tests: it records
/// every request and every accepted TCP connection, and answers with whatever
/// `reply` returns — or never answers when `reply` returns `nil`.
final class HTTPSink: Sendable {
    struct ReceivedRequest: Sendable {
        var method: String
        var uri: String
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> [String] {
            headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
        }
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: [UInt8] = []
    }

    private struct Record {
        var requests: [ReceivedRequest] = []
        var connections = 0
        var children: [any Channel] = []
    }

    let port: Int
    private let serverChannel: any Channel
    private let record: Mutex<Record>

    private init(port: Int, serverChannel: any Channel) {
        self.port = port
        self.serverChannel = serverChannel
        self.record = Mutex(Record())
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var requests: [ReceivedRequest] { record.withLock { $0.requests } }
    var requestCount: Int { record.withLock { $0.requests.count } }
    var connectionCount: Int { record.withLock { $0.connections } }

    /// Starts a sink answering each request with `reply(request)`; `nil` hangs.
    static func start(_ reply: @escaping @Sendable (ReceivedRequest) -> Reply?) async throws -> HTTPSink {
        let box = SinkBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                box.sink?.accepted(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(SinkHandler(box: box, reply: reply))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else {
            throw SinkError.noPort
        }
        let sink = HTTPSink(port: port, serverChannel: channel)
        box.set(sink)
        return sink
    }

    /// Closes the listener and every accepted connection.
    func stop() async {
        try? await serverChannel.close()
        let children = record.withLock { $0.children }
        for child in children {
            try? await child.close()
        }
    }

    fileprivate func accepted(_ channel: any Channel) {
        record.withLock {
            $0.connections += 1
            $0.children.append(channel)
        }
    }

    fileprivate func received(_ request: ReceivedRequest) {
        record.withLock { $0.requests.append(request) }
    }

    /// A free loopback port with nothing listening on it (bound, then closed).
    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let port = channel.localAddress?.port ?? 1
        try await channel.close()
        return port
    }

    enum SinkError: Error { case noPort }
}

/// Lets the channel initializer reach the sink, which exists only once bound.
private final class SinkBox: Sendable {
    private let storage = Mutex<HTTPSink?>(nil)
    var sink: HTTPSink? { storage.withLock { $0 } }
    func set(_ sink: HTTPSink) { storage.withLock { $0 = sink } }
}

/// Collects one request (head, body, end), records it, writes the reply.
private final class SinkHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let box: SinkBox
    private let reply: @Sendable (HTTPSink.ReceivedRequest) -> HTTPSink.Reply?
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(box: SinkBox, reply: @escaping @Sendable (HTTPSink.ReceivedRequest) -> HTTPSink.Reply?) {
        self.box = box
        self.reply = reply
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            let request = HTTPSink.ReceivedRequest(
                method: head.method.rawValue,
                uri: head.uri,
                headers: head.headers.map { ($0.name, $0.value) },
                body: body
            )
            self.head = nil
            box.sink?.received(request)
            guard let answer = reply(request) else { return }  // hang
            var headers = HTTPHeaders(answer.headers)
            headers.replaceOrAdd(name: "content-length", value: String(answer.body.count))
            let responseHead = HTTPResponseHead(
                version: head.version,
                status: HTTPResponseStatus(statusCode: answer.status),
                headers: headers
            )
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            if !answer.body.isEmpty {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: answer.body)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
