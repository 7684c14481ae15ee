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

    public init(transport: any Transport, log: any EventLog, endpoints: [EndpointConfig], logger: Logger,
                deliveriesCommitted: @escaping @Sendable () -> Void = {}) {
        self.transport = transport
        self.log = log
        self.endpoints = endpoints
        self.logger = logger
        self.deliveriesCommitted = deliveriesCommitted
    }

    /// What happened to one confirmation, for logs and tests.
    public enum Outcome: Sendable, Hashable {
        case confirmed(newDeliveries: Int)
        case mismatch(String)
        case failed(String)
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
            let targets = endpoints.filter { $0.accepts(confirmed) }.map(\.name)
            do {
                guard let added = try await log.confirm(confirmed, addingDeliveriesTo: targets) else {
                    return .failed("the event is unknown or already verified")
                }
                if added > 0 { deliveriesCommitted() }
                logger.info("return confirmed by the provider's API", metadata: metadata)
                return .confirmed(newDeliveries: added)
            } catch {
                metadata["error"] = "\(error)"
                logger.error("confirmed return could not be stored", metadata: metadata)
                return .failed("\(error)")
            }
        }
    }
}
