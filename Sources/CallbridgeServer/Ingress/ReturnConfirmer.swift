import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import CallbridgeTransport
import Logging

/// Confirms unsigned browser returns against the provider's API (a route's
/// `confirm:` block): fetches the order through the libcurl transport, and on
/// a match stores the event as verified (`confirmed_by_api`) and schedules it
/// for the endpoints that take only verified events. On a mismatch or an
/// error the event stays an unverified hint. Never blocks the browser.
public struct ReturnConfirmer: Sendable {
    public let transport: any Transport
    public let log: any EventLog
    public let endpoints: [EndpointConfig]
    public let logger: Logger
    public let deliveriesCommitted: @Sendable () -> Void
    /// Bounds how many confirmations run and wait at once (unsigned returns are unauthenticated).
    public let limiter: ConfirmationLimiter
    public let metrics: IngestMetrics

    public init(transport: any Transport, log: any EventLog, endpoints: [EndpointConfig], logger: Logger,
                deliveriesCommitted: @escaping @Sendable () -> Void = {},
                limiter: ConfirmationLimiter = ConfirmationLimiter(limits: ConfirmationLimits()), metrics: IngestMetrics = IngestMetrics()) {
        self.transport = transport
        self.log = log
        self.endpoints = endpoints
        self.logger = logger
        self.deliveriesCommitted = deliveriesCommitted
        self.limiter = limiter
        self.metrics = metrics
    }

    /// Confirms in the background when the limiter admits it; otherwise the
    /// return stays an unverified hint, counted as `dropped` and logged.
    public func schedule(_ event: Event, route: Route, spec: ConfirmationSpec, requestID: String?) {
        guard limiter.admit() else {
            metrics.recordConfirmation(provider: route.provider, outcome: "dropped")
            var metadata: Logger.Metadata = ["event_id": "\(event.id)", "route": "\(route.qualifiedName)"]
            if let requestID { metadata["request_id"] = "\(requestID)" }
            logger.warning("too many confirmations pending; the return stays unverified", metadata: metadata)
            return
        }
        Task {
            await limiter.run {
                let outcome = await confirm(event, route: route, spec: spec, requestID: requestID)
                metrics.recordConfirmation(provider: route.provider, outcome: outcome.label)
            }
        }
    }

    /// What happened to one confirmation, for logs and tests.
    public enum Outcome: Sendable, Hashable {
        case confirmed(newDeliveries: Int)
        case mismatch(String)
        case failed(String)

        /// The `outcome` label of `callbridge_confirmations_total`.
        public var label: String {
            switch self {
            case .confirmed: return "confirmed"
            case .mismatch: return "mismatch"
            case .failed: return "failed"
            }
        }
    }

    /// - Parameter requestID: the ingest request's id, carried into these log lines as `request_id`.
    @discardableResult
    public func confirm(_ event: Event, route: Route, spec: ConfirmationSpec, requestID: String? = nil) async -> Outcome {
        guard let orderID = event.data.orderID else { return .failed("the return has no order id") }
        let request = TransportRequest(
            url: spec.url(orderID: orderID), method: "GET", headers: spec.headers.map { ($0.key, $0.value) } + [("accept", "application/json")],
            timeout: .milliseconds(spec.timeout.milliseconds), connectTimeout: .milliseconds(min(spec.timeout.milliseconds, 5_000)),
            maxResponseBytes: 1 << 20
        )
        var metadata: Logger.Metadata = ["event_id": "\(event.id)", "route": "\(route.qualifiedName)"]
        if let requestID { metadata["request_id"] = "\(requestID)" }
        let answer: JSONValue
        do {
            let response = try await transport.send(request)
            guard (200..<300).contains(response.status) else {
                metadata["status"] = "\(response.status)"
                logger.warning("confirmation API refused; the return stays unverified", metadata: metadata)
                return .failed("HTTP \(response.status)")
            }
            answer = try JSONParser().parse(response.body)
        } catch {
            metadata["error"] = "\(error)"
            logger.warning("confirmation failed; the return stays unverified", metadata: metadata)
            return .failed("\(error)")
        }
        switch spec.check(answer, against: event, mapping: route.typeMapping) {
        case .mismatch(let reason):
            metadata["reason"] = "\(reason)"
            logger.warning("the provider's API does not confirm the return; it stays unverified", metadata: metadata)
            return .mismatch(reason)
        case .confirmed:
            var confirmed = event
            confirmed.data.verified = true
            confirmed.data.verification = .confirmedByAPI
            let targets = endpoints.filter { $0.accepts(confirmed) }.map(\.deliveryTarget)
            do {
                guard let outcome = try await log.confirm(confirmed, addingDeliveriesTo: targets) else {
                    return .failed("the event is unknown or already verified")
                }
                if outcome.addedDeliveries > 0 { deliveriesCommitted() }
                if let order = outcome.order {
                    metadata["order_transition"] = "\(order.transition.rawValue)"
                    metrics.report(order, of: confirmed, logger: logger)
                }
                logger.info("return confirmed by the provider's API", metadata: metadata)
                return .confirmed(newDeliveries: outcome.addedDeliveries)
            } catch {
                metadata["error"] = "\(error)"
                logger.error("confirmed return could not be stored", metadata: metadata)
                return .failed("\(error)")
            }
        }
    }
}
