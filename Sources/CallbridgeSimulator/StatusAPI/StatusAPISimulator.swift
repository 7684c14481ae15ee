import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A local HTTP server playing one provider's order-status API (Juspay
/// `GET /orders/{order_id}`, Luxfin `GET /payment/status?payment_id=`,
/// NonStoPay `GET /api/invoice/status/?id=`), so Callbridge's status checks
/// (confirming browser returns, polling pending orders) can be tried and
/// tested without a provider sandbox.
///
/// Answers come from a per-order script, then from a default answer; the
/// server keeps statistics a test can assert on.
///
/// Invariants:
/// - Every request gets a JSON answer in the provider's own shape: the 200
///   body it documents, a 401 for wrong or missing credentials (when
///   credentials were given), 400 for a missing or undecodable order id, 405
///   for a method other than `GET` on the endpoint, 404 for an unknown order
///   (no script, no default) or any other path. No input makes it crash.
/// - Every request counts in ``Stats/totalCalls`` and ``Stats/rawTargets``
///   (the target as received, still percent-encoded); a refused one counts in
///   ``Stats/unauthorized`` and not in ``Stats/callsByOrder``.
/// - Replies are chosen when a request arrives (so concurrent calls consume a
///   script in arrival order) and sent after the delay and any stall.
/// - Stopping the server ends delays and stalls at once; in-flight requests
///   are answered before it stops.
/// - Configuration (scripts, default, delay, pending count) may change at any
///   time from any task; a change applies to requests arriving afterwards.
public final class StatusAPISimulator: Sendable {
    /// What the simulated API accepts as a caller's credentials.
    ///
    /// Juspay: `Authorization: Basic base64("<apiKey>:")` and, when
    /// ``merchantID`` is set, `x-merchantid: <merchantID>`. Luxfin:
    /// `Authorization: Bearer <apiKey>`. NonStoPay: `API-KEY: <apiKey>`.
    public struct Credentials: Sendable, Hashable {
        /// The API key (Juspay's Basic username, Luxfin's bearer token, NonStoPay's `API-KEY`).
        public var apiKey: String
        /// Juspay's merchant id, required in `x-merchantid` when set; unused by the others.
        public var merchantID: String?

        /// Credentials for `apiKey` (and Juspay's `merchantID`).
        public init(apiKey: String, merchantID: String? = nil) {
            self.apiKey = apiKey
            self.merchantID = merchantID
        }
    }

    /// What the provider says about one order, in the provider's own words.
    ///
    /// ``status`` is written as given (e.g. `CHARGED`, `PENDING`,
    /// `invoice:paid`); ``amount`` is written as a JSON number with its exact
    /// text when it is a plain decimal (`^[0-9]+(\.[0-9]+)?$`) and the
    /// provider sends numbers (Juspay, Luxfin), else as a string.
    public struct OrderAnswer: Sendable, Hashable {
        /// The provider's status word.
        public var status: String
        /// The amount, as decimal text (e.g. `100.00`).
        public var amount: String
        /// The currency code; nil for the provider's usual one (Juspay `INR`, Luxfin `USD`, NonStoPay `EUR`).
        public var currency: String?

        /// An answer saying `status` for `amount` (in `currency`).
        public init(status: String, amount: String, currency: String? = nil) {
            self.status = status
            self.amount = amount
            self.currency = currency
        }
    }

    /// One scripted reply to a call about an order.
    public enum Reply: Sendable, Hashable {
        /// 200 with the provider's documented JSON shape for the order.
        case answer(OrderAnswer)
        /// HTTP `status` with a small JSON error body in the provider's shape,
        /// and a `Retry-After` header when given. A status outside 200...599
        /// is sent as 500.
        case error(status: Int, retryAfter: String?)
        /// Holds the request this long, then answers with the next reply in
        /// the script (or, when the stall is the script's last reply, the
        /// default). The stall and the reply it delays make one call.
        case stall(Duration)
    }

    /// What the server has seen since it was created.
    ///
    /// Invariants: ``inFlight`` <= ``maxConcurrent``; ``unauthorized`` <=
    /// ``totalCalls``; the sum of ``callsByOrder`` counts only authorized calls
    /// to the order endpoint with a readable order id.
    public struct Stats: Sendable {
        /// Every request received, whatever its path or credentials.
        public var totalCalls: Int
        /// Authorized calls to the order endpoint, by decoded order id.
        public var callsByOrder: [String: Int]
        /// The most requests ever handled at the same time (delays and stalls included).
        public var maxConcurrent: Int
        /// Requests being handled now.
        public var inFlight: Int
        /// Each request's target (path and query) exactly as received, still
        /// percent-encoded, in arrival order; the most recent
        /// ``StatusAPISimulator/rawTargetLimit`` are kept.
        public var rawTargets: [String]
        /// Requests refused for wrong or missing credentials.
        public var unauthorized: Int
    }

    /// Why the server could not be started.
    public enum ServeError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The port is not in 0...65535.
        case invalidPort(Int)
        /// The server ended before it was listening (no error was reported).
        case notStarted

        public var description: String {
            switch self {
            case .invalidPort(let port): return "port \(port) is not in 0...65535"
            case .notStarted: return "the status API server stopped before it was listening"
            }
        }
    }

    /// How many raw targets ``Stats/rawTargets`` keeps (a long-running server forgets the oldest).
    public static let rawTargetLimit = 100_000

    /// The provider whose API is played.
    public let provider: SimulatedProvider
    /// The credentials callers must present; nil accepts any caller.
    public let credentials: Credentials?
    let state: Mutex<State>

    /// A simulator of `provider`'s status API. Nil `credentials`: any caller
    /// is accepted. Until ``setDefault(_:)`` says otherwise, an unscripted
    /// order answers the provider's ``SimulatedProvider/successWord`` for `100.00`.
    public init(provider: SimulatedProvider, credentials: Credentials?) {
        self.provider = provider
        self.credentials = credentials
        self.state = Mutex(State(defaultAnswer: OrderAnswer(status: provider.successWord, amount: "100.00")))
    }

    /// Queues `replies` for calls about `order` (the decoded id), one per call;
    /// the last one repeats. Replaces an earlier script for that order; an
    /// empty list removes it.
    public func script(order: String, _ replies: [Reply]) {
        state.withLock { state in
            state.scripts[order] = replies.isEmpty ? nil : Script(replies: replies)
        }
    }

    /// The answer for orders without a script; nil makes them 404 in the provider's error shape.
    public func setDefault(_ answer: OrderAnswer?) {
        state.withLock { $0.defaultAnswer = answer }
    }

    /// Time added to every request before it is answered (to make concurrency visible); zero by default.
    public func setDelay(_ delay: Duration) {
        state.withLock { $0.delay = max(delay, .zero) }
    }

    /// The first `calls` calls about each unscripted order answer the
    /// provider's ``SimulatedProvider/pendingWord`` (with the default's amount
    /// and currency, `100.00` without a default), later ones the default.
    public func setPendingFor(_ calls: Int) {
        state.withLock { $0.pendingFor = max(calls, 0) }
    }

    /// A snapshot of what the server has seen.
    public func stats() -> Stats {
        state.withLock { $0.stats }
    }

    /// Runs on `host` and `port` (0 picks a free one), calls `body` with the
    /// bound port, and stops gracefully after `body` returns or throws.
    @discardableResult
    public func run<T: Sendable>(host: String = "127.0.0.1", port: Int = 0, _ body: @Sendable (Int) async throws -> T) async throws -> T {
        let server = try await start(host: host, port: port)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(server.port))
        } catch {
            result = .failure(error)
        }
        let stopped = await server.stop()
        let value = try result.get()
        try stopped.get()
        return value
    }

    /// Serves on `host` and `port` (0 picks a free one) until the calling task
    /// is cancelled, then stops gracefully and returns; calls `onReady` with
    /// the bound port once listening. Throws when the server cannot start.
    public func serve(host: String, port: Int, onReady: @Sendable (Int) -> Void) async throws {
        let server = try await start(host: host, port: port)
        onReady(server.port)
        try await withTaskCancellationHandler {
            try await server.task.value
        } onCancel: {
            server.requestStop()
        }
    }

    // MARK: Server

    /// A started server: its port, and the task running its service group.
    struct RunningServer: Sendable {
        let port: Int
        let group: ServiceGroup
        let task: Task<Void, any Error>
        let stopping: StopSignal

        /// Ends delays and stalls and asks the server to stop (it answers in-flight requests first).
        func requestStop() {
            stopping.set()
            let group = group
            Task { await group.triggerGracefulShutdown() }
        }

        /// Stops and waits until the server has.
        func stop() async -> Result<Void, any Error> {
            stopping.set()
            await group.triggerGracefulShutdown()
            return await task.result
        }
    }

    /// Starts listening and returns once the port is bound. The server runs in
    /// its own task: it is stopped by a graceful shutdown, never by cancelling
    /// it under in-flight responses (NIO traps on a response writer dropped
    /// unfinished).
    private func start(host: String, port: Int) async throws -> RunningServer {
        guard (0...65_535).contains(port) else { throw ServeError.invalidPort(port) }
        var logger = Logger(label: "callbridge.simulator.status-api")
        logger.logLevel = .critical
        let stopping = StopSignal()
        let simulator = self
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            await simulator.respond(to: request, stopping: stopping)
        }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? port)
                portContinuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        let server = RunningServer(port: port, group: group, task: task, stopping: stopping)
        let bound = await withTaskCancellationHandler {
            var iterator = ports.makeAsyncIterator()
            return await iterator.next()
        } onCancel: {
            server.requestStop()
        }
        guard let bound else {
            // Not listening: the bind failed, or we were cancelled while starting.
            let result = await server.stop()
            try Task.checkCancellation()
            try result.get()
            throw ServeError.notStarted
        }
        return RunningServer(port: bound, group: group, task: task, stopping: stopping)
    }
}

/// A flag set once when a server starts stopping, read by waiting requests.
final class StopSignal: Sendable {
    private let flag = Mutex(false)

    func set() { flag.withLock { $0 = true } }

    var isSet: Bool { flag.withLock { $0 } }
}
