import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The provider-facing half of the server: matches a request to a handler
/// route, reads the body within the limit, normalizes, commits the event and
/// its deliveries to the log, and only then answers the provider (2xx) or the
/// browser (303). docs/ARCHITECTURE.md, "The data path": ack only after commit.
public struct IngestService: Sendable {
    public let handlers: HandlerSet
    public let log: any EventLog
    public let endpoints: [EndpointConfig]
    public let maxBodyBytes: Int
    public let clock: @Sendable () -> Timestamp
    /// Requests, verification failures and events, for `/metrics`.
    public let metrics: IngestMetrics
    /// Called after a commit that created deliveries (wakes the dispatcher).
    public let deliveriesCommitted: @Sendable () -> Void
    /// Spacing and retries of status checks (the jobs are written at commit).
    public let statusChecks: StatusCheckSettings
    /// Called after a commit that made a status check due now (wakes the worker).
    public let statusChecksCommitted: @Sendable () -> Void
    /// The providers' status APIs, looked up once.
    let statusAPIs: [String: StatusAPISpec]
    let normalizer = Normalizer()
    /// The client's address behind `listen.trusted_proxies`.
    public let clientAddress: ClientAddress

    public init(handlers: HandlerSet, log: any EventLog, endpoints: [EndpointConfig], maxBodyBytes: Int,
                clock: @escaping @Sendable () -> Timestamp = SystemClock.now,
                deliveriesCommitted: @escaping @Sendable () -> Void = {}, statusChecks: StatusCheckSettings = StatusCheckSettings(),
                statusChecksCommitted: @escaping @Sendable () -> Void = {},
                metrics: IngestMetrics = IngestMetrics(), clientAddress: ClientAddress = ClientAddress(trustedProxies: [])) {
        self.metrics = metrics
        self.clientAddress = clientAddress
        self.deliveriesCommitted = deliveriesCommitted
        self.statusChecks = statusChecks
        self.statusChecksCommitted = statusChecksCommitted
        self.statusAPIs = handlers.statusAPIs
        self.handlers = handlers
        self.log = log
        self.endpoints = endpoints
        self.maxBodyBytes = maxBodyBytes
        self.clock = clock
    }

    /// Answers one provider request and counts it in `callbridge_requests_total`.
    public func handle(_ request: Request, context: CallbridgeRequestContext) async -> Response {
        let path = request.uri.path
        let method = request.method.rawValue
        switch handlers.match(method: method, path: path) {
        case .notFound:
            metrics.recordRequest(provider: IngestMetrics.unmatched, route: IngestMetrics.unmatched, status: 404)
            return JSONResponse.error(.routeNotFound(path))
        case .methodNotAllowed(let allowed):
            var headers = HTTPFields()
            headers[.allow] = allowed.joined(separator: ", ")
            metrics.recordRequest(provider: IngestMetrics.unmatched, route: IngestMetrics.unmatched, status: 405)
            return JSONResponse.error(.methodNotAllowed(method, allowed: allowed), headers: headers)
        case .route(let route, let pathParameters):
            let response = await handle(request, route: route, pathParameters: pathParameters, context: context)
            metrics.recordRequest(provider: route.provider, route: route.name, status: Int(response.status.code))
            return response
        }
    }

    /// The request's logger with Hummingbird's `hb.request.id` exposed as
    /// `request_id`, the key every ingest log line carries.
    static func requestLogger(_ base: Logger) -> Logger {
        var logger = base
        if let id = logger[metadataKey: "hb.request.id"] {
            logger[metadataKey: "request_id"] = id
            logger[metadataKey: "hb.request.id"] = nil
        }
        return logger
    }

    private func handle(_ request: Request, route: Route, pathParameters: [String: String], context: CallbridgeRequestContext) async -> Response {
        let path = request.uri.path
        let method = request.method.rawValue
        var logger = Self.requestLogger(context.logger)
        logger[metadataKey: "route"] = "\(route.qualifiedName)"

        // Refuse oversized bodies before reading them when the length is declared,
        // and stop reading at the limit when it is not.
        let body: ByteBuffer
        do {
            body = try await RequestBodyReader.collect(request, upTo: maxBodyBytes)
        } catch {
            return JSONResponse.error(error)
        }

        let now = clock()
        let raw = RawRequest(
            method: method, path: path, query: request.uri.query ?? "",
            headers: request.headers.map { HeaderField(name: $0.name.canonicalName, value: $0.value) },
            body: Array(buffer: body),
            remoteAddress: clientAddress.resolve(peer: context.remoteAddress?.ipAddress, forwardedFor: request.headers[values: .xForwardedFor]),
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
            return JSONResponse.error(error)
        }

        switch decision {
        case .rejectReturn(let failure, let landingURL):
            metrics.recordVerificationFailure(provider: route.provider, route: route.name, reason: failure.rawValue)
            logger.warning("browser return failed verification; no event recorded", metadata: ["reason": "\(failure.rawValue)"])
            return JSONResponse.seeOther(landingURL)

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
                return JSONResponse.error(status: 503, code: "log_unavailable", detail: "the event could not be stored; retry later")
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
                return JSONResponse.seeOther(landing.render(orderID: event.data.orderID, outcome: event.type.outcome, eventID: storedID))
            }
            return JSONResponse.make(status: 200, .object([
                ("status", .string(duplicate ? "duplicate" : "accepted")),
                ("event_id", .string(storedID.rawValue)),
            ]))
        }
    }
}

extension IngestService {
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

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
