import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP endpoint on a loopback port that misbehaves on purpose, per path
/// and per request: overflowing `Retry-After` values, redirects, a 50 MB
/// body, a reset, a malformed status line, a hang. Once a path's script is
/// used up it answers `otherwise` (`200 {"ok":true}` by default), so a test can check that the
/// delivery succeeds after the endpoint behaves.
///
/// It speaks HTTP/1.1 on raw TCP (a server library would refuse to write
/// most of these answers). Invariants: every request is recorded, with its
/// arrival time, before it is answered; a hang ends by itself after its
/// duration or when the sink stops, so tests always end.
public final class HostileSink: Sendable {
    /// How the sink answers one request.
    public enum Behavior: Sendable {
        /// A well-formed response with `Content-Length`.
        case respond(status: Int, headers: [(String, String)] = [], body: String = "")
        /// Exactly these bytes, then the connection is closed.
        case raw([UInt8])
        /// `status` with a body of `bytes` bytes, written in 1 MiB pieces as the client reads them.
        case largeBody(status: Int, bytes: Int)
        /// Headers promising `bytes` bytes, then one byte every `interval`.
        case drip(status: Int, bytes: Int, interval: Duration)
        /// Resets the connection (RST) once the request is read.
        case reset
        /// Closes the connection (FIN) without a byte of answer.
        case closeWithoutAnswer
        /// Answers nothing; the connection is closed after `duration` (or when the client gives up).
        case hang(Duration)
        /// `then`, once `delay` has passed (a slow but well-behaved receiver).
        indirect case after(Duration, then: Behavior)

        public static func raw(_ text: String) -> Behavior { .raw(Array(text.utf8)) }

        public static let ok = Behavior.respond(status: 200, headers: [("Content-Type", "application/json")], body: #"{"ok":true}"#)
    }

    /// One request as the sink read it (header names lowercased).
    public struct Received: Sendable {
        public var method: String
        public var path: String
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var at: ContinuousClock.Instant

        public func header(_ name: String) -> String? {
            headers.first { $0.0 == name.lowercased() }?.1
        }
    }

    private struct State {
        var received: [Received] = []
        var scripts: [String: [Behavior]] = [:]
        var children: [any Channel] = []
        var stopping = false
    }

    private let state = Mutex(State())
    private let serverChannel: Mutex<(any Channel)?> = Mutex(nil)
    private let portValue = Mutex(0)
    /// The bound port (0 until started).
    public var port: Int { portValue.withLock { $0 } }

    /// The answer once a path's script is used up.
    public let otherwise: Behavior

    public init(otherwise: Behavior = .ok) {
        self.otherwise = otherwise
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Queues behaviours for `path`, used one per request before the default `200`.
    public func script(_ path: String, _ behaviors: [Behavior]) {
        state.withLock { $0.scripts[path, default: []] += behaviors }
    }

    public var received: [Received] { state.withLock { $0.received } }
    public func received(path: String) -> [Received] { received.filter { $0.path == path } }

    var isStopping: Bool { state.withLock { $0.stopping } }

    fileprivate func behavior(for request: Received) -> Behavior {
        state.withLock { state in
            state.received.append(request)
            guard var queue = state.scripts[request.path], !queue.isEmpty else { return otherwise }
            let next = queue.removeFirst()
            state.scripts[request.path] = queue
            return next
        }
    }

    fileprivate func accepted(_ channel: any Channel) {
        state.withLock { $0.children.append(channel) }
    }

    /// Binds a free loopback port (or `port`) and starts answering.
    public func start(port: Int = 0) async throws {
        let sink = self
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                sink.accepted(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HostileHandler(sink: sink))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        serverChannel.withLock { $0 = channel }
        portValue.withLock { $0 = channel.localAddress?.port ?? port }
    }

    /// Closes the listener and every connection (hanging ones included).
    public func stop() async {
        let children = state.withLock { state -> [any Channel] in
            state.stopping = true
            return state.children
        }
        if let channel = serverChannel.withLock({ $0 }) { try? await channel.close() }
        for child in children { try? await child.close() }
    }

    /// Runs `body` with the sink started, and stops it afterwards even on failure.
    public func run<T>(port: Int = 0, _ body: (Int) async throws -> T) async throws -> T {
        try await start(port: port)
        do {
            let result = try await body(self.port)
            await stop()
            return result
        } catch {
            await stop()
            throw error
        }
    }
}

/// Reads requests (head, then `Content-Length` bytes of body; answers
/// `Expect: 100-continue`) and applies the sink's behaviour to each.
private final class HostileHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let sink: HostileSink
    private var buffer: [UInt8] = []
    private var continued = false
    /// Set once a behaviour that ends the connection was applied: further bytes are ignored.
    private var finished = false

    init(sink: HostileSink) { self.sink = sink }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !finished else { return }
        buffer += bytes.readBytes(length: bytes.readableBytes) ?? []
        while !finished, let request = nextRequest(context: context) {
            apply(sink.behavior(for: request), context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// The next complete request in the buffer, removed from it.
    private func nextRequest(context: ChannelHandlerContext) -> HostileSink.Received? {
        guard let headEnd = RawHTTPResponse.find([13, 10, 13, 10], in: buffer[...]) else { return nil }
        let lines = String(decoding: buffer[..<headEnd], as: UTF8.self).split(separator: "\r\n")
        let requestLine = lines.first?.split(separator: " ") ?? []
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers.append((line[..<colon].lowercased(), String(value)))
        }
        let length = headers.first { $0.0 == "content-length" }.flatMap { Int($0.1) } ?? 0
        let bodyStart = headEnd + 4
        if buffer.count - bodyStart < length {
            if !continued, headers.contains(where: { $0.0 == "expect" && $0.1.lowercased() == "100-continue" }) {
                continued = true
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\n")), promise: nil)
            }
            return nil
        }
        let body = Array(buffer[bodyStart..<bodyStart + length])
        buffer.removeFirst(bodyStart + length)
        continued = false
        let target = requestLine.count > 1 ? String(requestLine[1]) : ""
        return HostileSink.Received(
            method: requestLine.first.map(String.init) ?? "", path: String(target.split(separator: "?", omittingEmptySubsequences: false).first ?? ""),
            headers: headers, body: body, at: .now
        )
    }

    private func apply(_ behavior: HostileSink.Behavior, context: ChannelHandlerContext) {
        if !Self.keepsConnection(behavior) { finished = true }
        Self.apply(behavior, channel: context.channel, sink: sink)
    }

    /// Whether further requests may follow on the connection after `behavior`.
    private static func keepsConnection(_ behavior: HostileSink.Behavior) -> Bool {
        switch behavior {
        case .respond: return true
        case .after(_, let then): return keepsConnection(then)
        default: return false
        }
    }

    private static func apply(_ behavior: HostileSink.Behavior, channel: any Channel, sink: HostileSink) {
        switch behavior {
        case .respond(let status, let headers, let body):
            var head = "HTTP/1.1 \(status) \(reason(status))\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            head += "Content-Length: \(body.utf8.count)\r\n\r\n"
            channel.writeAndFlush(ByteBuffer(string: head + body), promise: nil)
        case .raw(let bytes):
            channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenComplete { _ in channel.close(promise: nil) }
        case .largeBody(let status, let total):
            let head = "HTTP/1.1 \(status) \(reason(status))\r\nContent-Type: text/plain\r\nContent-Length: \(total)\r\n\r\n"
            channel.writeAndFlush(ByteBuffer(string: head), promise: nil)
            writeFiller(channel: channel, remaining: total, sink: sink)
        case .drip(let status, let total, let interval):
            let head = "HTTP/1.1 \(status) \(reason(status))\r\nContent-Length: \(total)\r\n\r\n"
            channel.writeAndFlush(ByteBuffer(string: head), promise: nil)
            drip(channel: channel, remaining: total, interval: interval, sink: sink)
        case .reset:
            reset(channel)
        case .closeWithoutAnswer:
            channel.close(promise: nil)
        case .hang(let duration):
            channel.eventLoop.scheduleTask(in: timeAmount(duration)) {
                channel.close(promise: nil)
            }
        case .after(let delay, let then):
            channel.eventLoop.scheduleTask(in: timeAmount(delay)) {
                if channel.isActive { apply(then, channel: channel, sink: sink) }
            }
        }
    }

    /// Writes `remaining` filler bytes a piece at a time, each after the previous one left.
    private static func writeFiller(channel: any Channel, remaining: Int, sink: HostileSink) {
        guard remaining > 0, !sink.isStopping else {
            channel.close(promise: nil)
            return
        }
        let piece = min(remaining, 1 << 20)
        channel.writeAndFlush(ByteBuffer(repeating: UInt8(ascii: "x"), count: piece)).whenComplete { result in
            switch result {
            case .success: writeFiller(channel: channel, remaining: remaining - piece, sink: sink)
            case .failure: channel.close(promise: nil)
            }
        }
    }

    private static func drip(channel: any Channel, remaining: Int, interval: Duration, sink: HostileSink) {
        guard remaining > 0, channel.isActive, !sink.isStopping else {
            channel.close(promise: nil)
            return
        }
        channel.writeAndFlush(ByteBuffer(string: "x"), promise: nil)
        channel.eventLoop.scheduleTask(in: timeAmount(interval)) {
            drip(channel: channel, remaining: remaining - 1, interval: interval, sink: sink)
        }
    }

    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// SO_LINGER with a zero timeout turns the close into a reset.
    private static func reset(_ channel: any Channel) {
        guard let provider = channel as? any SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 302: return "Found"
        case 307: return "Temporary Redirect"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 503: return "Service Unavailable"
        default: return "Status"
        }
    }
}
