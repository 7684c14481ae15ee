import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import Logging

/// One provider request as ingest sees it: no HTTP framework type in it.
public struct IngestRequest: Sendable {
    public var method: String
    /// The path without the query string.
    public var path: String
    /// The query string without `?` (empty when there is none).
    public var query: String
    /// Every header in arrival order, names as sent.
    public var headers: [HeaderField]
    public var body: [UInt8]
    /// The TCP peer's IP address, nil when unknown.
    public var peerAddress: String?

    public init(method: String, path: String, query: String = "", headers: [HeaderField] = [], body: [UInt8] = [], peerAddress: String? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.peerAddress = peerAddress
    }
}

/// What ingest decided about one request. An adapter (Hummingbird's is
/// `IngestService`) turns it into the answer on the wire.
public enum IngestOutcome: Sendable, Equatable {
    /// Stored, or a duplicate of an event stored before: the provider is acked (200).
    case accepted(EventID, duplicate: Bool)
    /// A browser return, stored or refused: the browser goes to `location` (303).
    case landing(String)
    /// Refused, nothing stored; `allowed` names the methods of a path asked with another one.
    case refused(IngestError, allowed: [String] = [])
    /// The log could not commit: nothing acked, so the provider sends again (503).
    case unavailable

    /// The status the provider or browser is answered with.
    public var status: Int {
        switch self {
        case .accepted: 200
        case .landing: 303
        case .refused(let error, _): error.status
        case .unavailable: 503
        }
    }
}

/// The ingest pipeline, request bytes in, outcome out: route → verify and
/// normalize → place and commit (event, raw request, deliveries, status-check
/// job in one transaction) → wake the dispatcher. docs/ARCHITECTURE.md,
/// "The data path".
///
/// Invariants: an `.accepted` or `.landing` for a stored event is returned only
/// after the log committed it; `.refused` and `.unavailable` store nothing;
/// the pipeline never reads a clock of its own (`clock`).
public struct IngestPipeline: Sendable {
    public let handlers: HandlerSet
    public let log: any EventLog
    public let endpoints: [EndpointConfig]
    public let clock: @Sendable () -> Timestamp
    /// Verification failures, events and order transitions, for `/metrics`.
    public let metrics: IngestMetrics
    /// Called after a commit that created deliveries (wakes the dispatcher).
    public let deliveriesCommitted: @Sendable () -> Void
    /// Spacing and retries of status checks (the jobs are written at commit).
    public let statusChecks: StatusCheckSettings
    /// Called after a commit that made a status check due now (wakes the worker).
    public let statusChecksCommitted: @Sendable () -> Void
    /// The client's address behind `listen.trusted_proxies`.
    public let clientAddress: ClientAddress
    /// The providers' status APIs, looked up once.
    let statusAPIs: [String: StatusAPISpec]
    let normalizer = Normalizer()

    public init(handlers: HandlerSet, log: any EventLog, endpoints: [EndpointConfig],
                clock: @escaping @Sendable () -> Timestamp = SystemClock.now,
                deliveriesCommitted: @escaping @Sendable () -> Void = {}, statusChecks: StatusCheckSettings = StatusCheckSettings(),
                statusChecksCommitted: @escaping @Sendable () -> Void = {},
                metrics: IngestMetrics = IngestMetrics(), clientAddress: ClientAddress = ClientAddress(trustedProxies: [])) {
        self.handlers = handlers
        self.log = log
        self.endpoints = endpoints
        self.clock = clock
        self.deliveriesCommitted = deliveriesCommitted
        self.statusChecks = statusChecks
        self.statusChecksCommitted = statusChecksCommitted
        self.metrics = metrics
        self.clientAddress = clientAddress
        self.statusAPIs = handlers.statusAPIs
    }

    /// The route for a method and path, or the refusal (404, 405) to answer
    /// with: the first step, taken before the body is read.
    public func route(method: String, path: String) -> Result<(route: Route, pathParameters: [String: String]), IngestRefusal> {
        switch handlers.match(method: method, path: path) {
        case .notFound: .failure(IngestRefusal(outcome: .refused(.routeNotFound(path))))
        case .methodNotAllowed(let allowed): .failure(IngestRefusal(outcome: .refused(.methodNotAllowed(method, allowed: allowed), allowed: allowed)))
        case .route(let route, let pathParameters): .success((route, pathParameters))
        }
    }

    /// The whole pipeline for a request whose body is already in memory.
    public func ingest(_ request: IngestRequest, logger: Logger) async -> IngestOutcome {
        switch route(method: request.method, path: request.path) {
        case .failure(let refusal): return refusal.outcome
        case .success(let match): return await ingest(request, route: match.route, pathParameters: match.pathParameters, logger: logger)
        }
    }

    /// Everything after the route: verify, normalize, commit, then decide the answer.
    public func ingest(_ request: IngestRequest, route: Route, pathParameters: [String: String], logger: Logger) async -> IngestOutcome {
        let now = clock()
        let forwardedFor = request.headers.compactMap { $0.name.lowercased() == "x-forwarded-for" ? $0.value : nil }
        let raw = RawRequest(
            method: request.method, path: request.path, query: request.query, headers: request.headers, body: request.body,
            remoteAddress: clientAddress.resolve(peer: request.peerAddress, forwardedFor: forwardedFor),
            receivedAt: now
        )
        let eventID = EventID.generate(millisecondsSinceEpoch: UInt64(max(0, now.millisecondsSinceEpoch)))

        let decision: Normalizer.Decision
        do {
            decision = try normalizer.normalize(route: route, raw: raw, pathParameters: pathParameters, eventID: eventID, now: now)
        } catch {
            if let reason = error.verificationReason {
                metrics.recordVerificationFailure(provider: route.provider, route: route.name, reason: reason)
            }
            // The detail can echo request text (a content type, a path): masked like everything logged.
            logger.notice("request refused", metadata: [
                "status": "\(error.status)", "reason": "\(error.code)", "detail": "\(CardDataMasker().maskText(error.detail))",
            ])
            return .refused(error)
        }

        switch decision {
        case .rejectReturn(let failure, let landingURL):
            metrics.recordVerificationFailure(provider: route.provider, route: route.name, reason: failure.rawValue)
            logger.warning("browser return failed verification; no event recorded", metadata: ["reason": "\(failure.rawValue)"])
            return .landing(landingURL)

        case .accept(let normalized):
            let event = normalized.event
            let targets = endpoints.filter { $0.accepts(event) }.map(\.deliveryTarget)
            let statusCheck = statusCheckRequest(for: event, route: route)
            let outcome: AppendOutcome
            do {
                outcome = try await log.append(IngestRecord(event: event, raw: normalized.raw, dedupKey: normalized.dedupKey, targets: targets,
                                                            statusCheck: statusCheck))
            } catch {
                logger.error("event could not be committed; provider not acked", metadata: ["error": "\(error)"])
                return .unavailable
            }
            let storedID = outcome.eventID
            let duplicate: Bool
            if case .duplicate = outcome { duplicate = true } else { duplicate = false }
            if !duplicate {
                metrics.recordEvent(provider: event.data.provider, type: event.type.rawValue)
                metrics.report(outcome.order, of: event, logger: logger)
            }
            if outcome.deliveries > 0 { deliveriesCommitted() }
            var metadata: Logger.Metadata = ["event_id": "\(storedID)", "type": "\(event.type.rawValue)", "deliveries": "\(outcome.deliveries)"]
            if let order = outcome.order { metadata["order_transition"] = "\(order.transition.rawValue)" }
            logger.info(duplicate ? "duplicate ignored" : "event recorded", metadata: metadata)
            if !duplicate, statusCheck?.asksNow == true { statusChecksCommitted() }
            if route.channel == .redirect, let landing = route.landing {
                return .landing(landing.render(orderID: event.data.orderID, outcome: event.type.outcome, eventID: storedID))
            }
            return .accepted(storedID, duplicate: duplicate)
        }
    }

    /// What the log should do about the order's status check when it stores
    /// `event`: nil when the provider has no status API configured. A return
    /// asks now (the handler file's `after_returns`); any event may start
    /// polling an order left awaiting payment. The job is written in the
    /// event's transaction, so it survives whatever happens after the ack.
    func statusCheckRequest(for event: Event, route: Route) -> StatusCheckRequest? {
        guard let spec = statusAPIs[route.provider] else { return nil }
        return StatusCheckRequest(asksNow: route.channel == .redirect && spec.afterReturns,
                                  policy: statusChecks.policy(poll: spec.poll), needsTransactionID: spec.needsTransactionID)
    }
}

/// A request refused at the route step (404, 405), as an `Error` so that it
/// can travel in a `Result`.
public struct IngestRefusal: Error, Sendable {
    public var outcome: IngestOutcome
}
