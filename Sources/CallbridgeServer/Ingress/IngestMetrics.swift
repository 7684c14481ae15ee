import CallbridgeDispatch
import CallbridgeModel
import Logging
import Prometheus

/// The ingress side's Prometheus metrics, registered in a registry the caller
/// owns (never a global one):
///
/// - `callbridge_requests_total{provider, route, status}`: every request
///   answered by the provider-facing side; `provider` and `route` are `none`
///   when no handler route matched (404, 405).
/// - `callbridge_verification_failures_total{provider, route, reason}`:
///   `reason` is a `VerificationFailure` (`bad_credentials`, `bad_signature`, …).
/// - `callbridge_events_total{provider, type}`: events recorded (duplicates excluded).
/// - `callbridge_order_transitions_total{provider, transition}`: events placed in
///   their order's story (`advanced`, `repeated`, `stale`, `conflict`; hints included).
/// - `callbridge_order_mismatches_total{provider}`: verified events whose amount or
///   currency contradicts their order (`conflict`, or `stale` when late anyway).
public final class IngestMetrics: Sendable {
    /// Where the metrics are registered.
    public let registry: PrometheusCollectorRegistry
    /// Each counter looked up once per label set (the hot path increments without the registry).
    private let handles = MetricHandles()

    /// The `provider`/`route` label value of requests that matched no route.
    public static let unmatched = "none"

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Counts one answered request.
    public func recordRequest(provider: String, route: String, status: Int) {
        let code = String(status)
        handles.counter(MetricHandles.key("requests", provider, route, code)) {
            registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "callbridge", metricName: "requests", unitName: "total",
                                                 helpText: "Provider requests answered, by provider, route and HTTP status code."),
                labels: [("provider", provider), ("route", route), ("status", code)]
            )
        }.increment()
    }

    /// Counts one request (or browser return) that failed verification.
    public func recordVerificationFailure(provider: String, route: String, reason: String) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "callbridge", metricName: "verification_failures", unitName: "total",
                                             helpText: "Requests that failed verification, by provider, route and reason."),
            labels: [("provider", provider), ("route", route), ("reason", reason)]
        ).increment()
    }

    /// Counts one event committed to the log.
    public func recordEvent(provider: String, type: String) {
        handles.counter(MetricHandles.key("events", provider, type)) {
            registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "callbridge", metricName: "events", unitName: "total",
                                                 helpText: "Events recorded in the log, by provider and event type (duplicates excluded)."),
                labels: [("provider", provider), ("type", type)]
            )
        }.increment()
    }

    /// Counts one placement in an order's story, and a mismatch when a verified event conflicts.
    public func recordPlacement(provider: String, placement: OrderPlacement, verified: Bool) {
        handles.counter(MetricHandles.key("order_transitions", provider, placement.transition.rawValue)) {
            registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "callbridge", metricName: "order_transitions", unitName: "total",
                                                 helpText: "Events placed in their order's story, by provider and transition."),
                labels: [("provider", provider), ("transition", placement.transition.rawValue)]
            )
        }.increment()
        guard verified, !placement.mismatch.isEmpty else { return }
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "callbridge", metricName: "order_mismatches", unitName: "total",
                                             helpText: "Verified events whose amount or currency contradicts their order, by provider."),
            labels: [("provider", provider)]
        ).increment()
    }
}

extension IngestMetrics {
    /// Counts a committed placement and says it loudly when a verified event
    /// conflicts with its order (it is still delivered).
    func report(_ placement: OrderPlacement?, of event: Event, logger: Logger) {
        guard let placement else { return }
        recordPlacement(provider: event.data.provider, placement: placement, verified: event.data.verified)
        guard event.data.verified, !placement.mismatch.isEmpty else { return }
        let mismatch = placement.mismatch.map { "\($0.field): expected \($0.expected), got \($0.got)" }.joined(separator: "; ")
        logger.warning("order mismatch: the event contradicts its order's amount or currency", metadata: [
            "event_id": "\(event.id)", "sequence": "\(placement.sequence)", "transition": "\(placement.transition.rawValue)",
            "mismatch": "\(mismatch)",
        ])
    }
}
