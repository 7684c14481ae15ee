import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A real HTTP server on a loopback port that records every request (GET and
/// POST, any path) and answers from a script: the "internal service" in
/// delivery tests.
///
/// Invariants: requests are recorded before they are answered; an unscripted
/// request gets `defaultResponse`; `.hang` answers nothing for `duration`
/// (bounded, so tests always end).
public final class RecordingSink: Sendable {
    /// One request as the sink saw it (header names lowercased).
    public struct Received: Sendable {
        public var method: String
        public var path: String
        /// The query string without `?` (empty when there is none).
        public var query: String = ""
        public var headers: [(String, String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0 == name.lowercased() }?.1
        }
    }

    /// How the sink answers one request.
    public enum Reply: Sendable {
        case status(Int, headers: [(String, String)] = [], body: String = "")
        case hang(Duration)
        /// Answers `status` and stays at the head of its script until the sink
        /// has received a request on the same path whose body contains
        /// `marker`; then the script moves on. Lets a test say "fail until the
        /// other order got through" without betting on timing.
        case statusUntilReceived(Int, marker: String)
    }

    private struct State {
        var received: [Received] = []
        var scripts: [String: [Reply]] = [:]
        /// Scripts that apply to requests of a path whose body contains a marker, checked first.
        var markedScripts: [(path: String, marker: [UInt8], replies: [Reply])] = []
        var defaults: [String: Reply] = [:]
    }

    private let state = Mutex(State())
    /// Set when the sink is shutting down: hanging replies end at once.
    private let stopping = Mutex(false)
    public let defaultResponse: Reply

    public init(defaultResponse: Reply = .status(200, body: #"{"ok":true}"#)) {
        self.defaultResponse = defaultResponse
    }

    /// Queues replies for `path`, used in order before falling back to the default.
    public func script(_ path: String, _ replies: [Reply]) {
        state.withLock { $0.scripts[path, default: []] += replies }
    }

    /// Queues replies for requests to `path` whose body contains `marker`
    /// (e.g. one order's id), used before the path's own script.
    public func script(_ path: String, bodyContaining marker: String, _ replies: [Reply]) {
        state.withLock { $0.markedScripts.append((path, Array(marker.utf8), replies)) }
    }

    /// The reply for `path` once its script is used up.
    public func setDefault(_ path: String, _ reply: Reply) {
        state.withLock { $0.defaults[path] = reply }
    }

    public var received: [Received] { state.withLock { $0.received } }

    public func received(path: String) -> [Received] { received.filter { $0.path == path } }

    func reply(for request: Received) -> Reply {
        state.withLock { state in
            state.received.append(request)
            if let index = state.markedScripts.firstIndex(where: { script in
                script.path == request.path && !script.replies.isEmpty && request.body.contains(marker: script.marker)
            }), let next = Self.take(&state.markedScripts[index].replies, for: request, received: state.received) {
                return next
            }
            if var queue = state.scripts[request.path], !queue.isEmpty {
                let next = Self.take(&queue, for: request, received: state.received)
                state.scripts[request.path] = queue
                if let next { return next }
            }
            return state.defaults[request.path] ?? defaultResponse
        }
    }

    /// Removes and returns the head of a script; a `statusUntilReceived` head
    /// stays (and answers its status) until its marker has arrived, then
    /// gives way to the next reply. Nil when the script is used up.
    private static func take(_ queue: inout [Reply], for request: Received, received: [Received]) -> Reply? {
        while let head = queue.first {
            guard case .statusUntilReceived(let code, let marker) = head else { return queue.removeFirst() }
            let bytes = Array(marker.utf8)
            if !received.contains(where: { $0.path == request.path && $0.body.contains(marker: bytes) }) {
                return .status(code, body: "waiting for \(marker)")
            }
            queue.removeFirst()
        }
        return nil
    }

    /// Serves until `body` returns, on `port` (0 picks a free one, passed to `body`).
    public func run<T: Sendable>(port: Int = 0, _ body: @Sendable (Int) async throws -> T) async throws -> T {
        let router = Router()
        let sink = self
        let respond: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let bytes = try await request.body.collect(upTo: 4 << 20)
            let received = Received(
                method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "", headers: request.headers.map { ($0.name.canonicalName.lowercased(), $0.value) }, body: Array(buffer: bytes)
            )
            switch sink.reply(for: received) {
            case .status(let code, let headers, let text):
                var fields = HTTPFields()
                for (name, value) in headers { if let n = HTTPField.Name(name) { fields[n] = value } }
                return Response(status: .init(code: code), headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
            case .hang(let duration):
                // Hangs in small steps so that a stopping sink answers at once and
                // shuts down cleanly instead of being torn down mid-response.
                let deadline = ContinuousClock.now + duration
                while ContinuousClock.now < deadline && !sink.stopping.withLock({ $0 }) {
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return Response(status: sink.stopping.withLock({ $0 }) ? .serviceUnavailable : .ok)
            case .statusUntilReceived(let code, _):
                // Only as a path's default: a script's head is resolved in `reply(for:)`.
                return Response(status: .init(code: code))
            }
        }
        router.post("**", use: respond)
        router.get("**", use: respond)
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "sink")
        logger.logLevel = .critical
        stopping.withLock { $0 = false }
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "sink"),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? port) },
            logger: logger
        )
        // Stopped by a graceful shutdown, never by cancelling the server under
        // in-flight responses (NIO traps on a response writer dropped unfinished).
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await services.run()
                return nil
            }
            var iterator = portStream.makeAsyncIterator()
            guard let actualPort = await iterator.next() else { throw CancellationError() }
            let result: Result<T, any Error>
            do {
                result = .success(try await body(actualPort))
            } catch {
                result = .failure(error)
            }
            stopping.withLock { $0 = true }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
            return try result.get()
        }
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns
/// whether it held (a throwing check counts as not yet). For waiting on
/// asynchronous delivery in tests.
public func eventually(timeout: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return (try? await condition()) == true
}

extension Array where Element == UInt8 {
    /// Whether `marker` occurs in these bytes (an empty marker always does).
    func contains(marker: [UInt8]) -> Bool {
        guard !marker.isEmpty else { return true }
        guard marker.count <= count else { return false }
        for start in 0...(count - marker.count) where self[start] == marker[0] && Array(self[start..<(start + marker.count)]) == marker {
            return true
        }
        return false
    }
}
