import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain TCP connection that sends exactly the bytes it is given, for
/// requests no HTTP client library would write: malformed request lines,
/// NUL bytes, conflicting lengths, bodies dripped a byte at a time. Everything
/// the server sends back is collected and can be read as HTTP responses.
///
/// Invariants: reads run on NIO's own threads, so a test waiting on a slow
/// server never blocks the cooperative pool; every wait has a timeout; how
/// the connection ended (still open, closed by the peer, reset) is recorded.
public final class RawHTTPConnection: Sendable {
    /// How the connection ended, as far as this side saw.
    public enum Ending: Sendable, Equatable, CustomStringConvertible {
        case open
        /// The peer closed it (FIN), or we did.
        case closed
        /// The peer reset it (RST).
        case reset
        case failed(String)

        public var description: String {
            switch self {
            case .open: return "open"
            case .closed: return "closed"
            case .reset: return "reset"
            case .failed(let message): return "failed (\(message))"
            }
        }
    }

    fileprivate struct State {
        var bytes: [UInt8] = []
        var ending: Ending = .open
        var endedAt: ContinuousClock.Instant?
    }

    private let collector: Collector
    private let channel: any Channel
    /// When the connection was established.
    public let openedAt: ContinuousClock.Instant

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
        self.openedAt = .now
    }

    /// Connects to `host:port` (loopback in tests) within 5 seconds.
    public static func connect(host: String = "127.0.0.1", port: Int) async throws -> RawHTTPConnection {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(collector: collector))
                }
            }
            .connect(host: host, port: port)
            .get()
        return RawHTTPConnection(channel: channel, collector: collector)
    }

    /// Writes `bytes` and waits until the kernel took them; throws once the connection is gone.
    public func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
    }

    public func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    /// Everything received so far.
    public var received: [UInt8] { collector.state.withLock { $0.bytes } }
    public var ending: Ending { collector.state.withLock { $0.ending } }
    public var endedAt: ContinuousClock.Instant? { collector.state.withLock { $0.endedAt } }
    public var isOpen: Bool { ending == .open }

    /// The complete responses received so far, interim (1xx) ones included.
    public var responses: [RawHTTPResponse] {
        let (bytes, ended) = collector.state.withLock { ($0.bytes, $0.ending != .open) }
        return RawHTTPResponse.parseAll(bytes, connectionEnded: ended)
    }

    /// The first complete final (non-1xx) response, if one has arrived.
    public var finalResponse: RawHTTPResponse? { responses.first { $0.status >= 200 } }

    /// Waits until a final response is complete or the connection ends, at most `timeout`.
    public func waitForResponse(timeout: Duration) async -> RawHTTPResponse? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let response = finalResponse { return response }
            if !isOpen { return finalResponse }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return finalResponse
    }

    /// Waits until the connection ends, at most `timeout`; returns whether it did.
    public func waitUntilEnded(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !isOpen { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return !isOpen
    }

    /// Closes our side (nothing happens if it is already closed).
    public func close() async {
        try? await channel.close()
    }

    /// Shares the state between the handler (event loop) and the connection (tasks).
    private final class Collector: Sendable {
        let state = Mutex(State())
    }

    private final class CollectingHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let collector: Collector

        init(collector: Collector) { self.collector = collector }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            collector.state.withLock { $0.bytes += bytes }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            let ending: Ending
            if let error = error as? IOError, error.errnoCode == ECONNRESET {
                ending = .reset
            } else {
                ending = .failed("\(error)")
            }
            collector.state.withLock { state in
                if state.ending == .open {
                    state.ending = ending
                    state.endedAt = .now
                }
            }
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            collector.state.withLock { state in
                if state.ending == .open {
                    state.ending = .closed
                    state.endedAt = .now
                }
            }
            context.fireChannelInactive()
        }
    }
}

/// One HTTP/1.x response as it came over the wire, parsed without any
/// normalization, so a test can see an injected header or a missing
/// content type.
public struct RawHTTPResponse: Sendable {
    public var version: String
    public var status: Int
    public var reason: String
    /// In order, names as sent.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The status line and header lines exactly as received (CRLFs included).
    public var head: [UInt8]

    /// The first value of the header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public func headers(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Every complete response in `bytes`, in order. Without a length, a body
    /// runs to the end of the connection, so it is complete only once `connectionEnded`.
    public static func parseAll(_ bytes: [UInt8], connectionEnded: Bool) -> [RawHTTPResponse] {
        var responses: [RawHTTPResponse] = []
        var offset = 0
        while offset < bytes.count, let (response, consumed) = parse(bytes[offset...], connectionEnded: connectionEnded) {
            responses.append(response)
            offset += consumed
        }
        return responses
    }

    /// One response from the start of `bytes` and how many bytes it took; nil while incomplete.
    static func parse(_ bytes: ArraySlice<UInt8>, connectionEnded: Bool) -> (RawHTTPResponse, Int)? {
        let start = bytes.startIndex
        guard let headEnd = find([13, 10, 13, 10], in: bytes) else { return nil }
        let head = Array(bytes[start..<headEnd + 4])
        let lines = String(decoding: bytes[start..<headEnd], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = lines.first else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else {
            // Not HTTP: report it as status 0 with everything received as the body.
            let response = RawHTTPResponse(version: "", status: 0, reason: "", headers: [], body: Array(bytes), head: [])
            return connectionEnded ? (response, bytes.count) : nil
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: " \t")))
        }
        var response = RawHTTPResponse(version: String(parts[0]), status: status, reason: parts.count > 2 ? String(parts[2]) : "",
                                       headers: headers, body: [], head: head)
        let bodyStart = headEnd + 4
        if (100..<200).contains(status) || status == 204 || status == 304 {
            return (response, bodyStart - start)
        }
        if response.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            guard let (body, end) = dechunk(bytes[bodyStart...]) else { return nil }
            response.body = body
            return (response, end - start)
        }
        if let lengthText = response.header("content-length"), let length = Int(lengthText) {
            guard bytes.endIndex - bodyStart >= length else { return nil }
            response.body = Array(bytes[bodyStart..<bodyStart + length])
            return (response, bodyStart + length - start)
        }
        guard connectionEnded else { return nil }
        response.body = Array(bytes[bodyStart...])
        return (response, bytes.endIndex - start)
    }

    /// A chunked body and the index just past its last chunk (trailers skipped); nil while incomplete.
    static func dechunk(_ bytes: ArraySlice<UInt8>) -> ([UInt8], Int)? {
        var body: [UInt8] = []
        var index = bytes.startIndex
        while true {
            guard let lineEnd = find([13, 10], in: bytes[index...]) else { return nil }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: " \t"), radix: 16) else { return nil }
            index = lineEnd + 2
            if size == 0 {
                // Trailers end with an empty line.
                while true {
                    guard let end = find([13, 10], in: bytes[index...]) else { return nil }
                    let empty = end == index
                    index = end + 2
                    if empty { return (body, index) }
                }
            }
            guard bytes.endIndex - index >= size + 2 else { return nil }
            body += bytes[index..<index + size]
            index += size + 2
        }
    }

    static func find(_ needle: [UInt8], in bytes: ArraySlice<UInt8>) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var i = bytes.startIndex
        while i <= bytes.endIndex - needle.count {
            if bytes[i] == needle[0] && bytes[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = self[...]
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
