import CallbridgeDispatch
import CallbridgeModel
import CallbridgeStore
import Prometheus
import Synchronization

/// Every metric one Callbridge process exposes on `/metrics`, in one
/// `PrometheusCollectorRegistry` that this value owns. `serve` creates one and
/// hands `ingest` to the server and `delivery` to the dispatcher; tests create
/// their own, so nothing is global.
///
/// The gauges that describe the delivery queue are computed at scrape time
/// from `DeliveryLog.endpointStatistics(now:)` (see `refreshQueueGauges`):
/// one cheap grouped query per scrape, and correct when several processes
/// share the log, which counters kept in memory could not be.
///
/// - `callbridge_delivery_backlog{endpoint}`: deliveries pending or in flight.
/// - `callbridge_delivery_oldest_due_age_seconds{endpoint}`: how long the
///   oldest due pending delivery has waited past its due time (0 if none).
/// - `callbridge_deliveries_dead{endpoint}`: deliveries that exhausted their schedule.
public final class CallbridgeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let ingest: IngestMetrics
    public let delivery: DeliveryMetrics
    public let statusChecks: StatusCheckMetrics
    /// Endpoints whose queue gauges were set by an earlier scrape, so one that
    /// disappears from the log's statistics is reset to 0 rather than frozen.
    private let gaugedEndpoints = Mutex<Set<String>>([])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.ingest = IngestMetrics(registry: registry)
        self.delivery = DeliveryMetrics(registry: registry)
        self.statusChecks = StatusCheckMetrics(registry: registry)
    }

    /// Sets the queue gauges from the log's per-endpoint statistics.
    public func refreshQueueGauges(_ statistics: [EndpointStatistics], now: Timestamp) {
        gaugedEndpoints.withLock { known in
            var seen: Set<String> = []
            for stats in statistics {
                seen.insert(stats.endpoint)
                let age = stats.oldestDueAt.map { max(0, Double(now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch) / 1000) } ?? 0
                setQueueGauges(endpoint: stats.endpoint, backlog: stats.backlog, oldestDueAge: age, dead: stats.dead)
            }
            for gone in known.subtracting(seen) {
                setQueueGauges(endpoint: gone, backlog: 0, oldestDueAge: 0, dead: 0)
            }
            known.formUnion(seen)
        }
    }

    private func setQueueGauges(endpoint: String, backlog: Int, oldestDueAge: Double, dead: Int) {
        let labels = [("endpoint", endpoint)]
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "callbridge", subsystem: "delivery", metricName: "backlog", unitName: "",
                                             helpText: "Deliveries pending or in flight, per endpoint (from the log at scrape time)."),
            labels: labels
        ).set(Double(backlog))
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "callbridge", subsystem: "delivery", metricName: "oldest_due_age", unitName: "seconds",
                                             helpText: "How long the oldest due pending delivery has waited past its due time, per endpoint."),
            labels: labels
        ).set(oldestDueAge)
        registry.makeGauge(
            descriptor: MetricNameDescriptor(namespace: "callbridge", metricName: "deliveries_dead", unitName: "",
                                             helpText: "Deliveries that exhausted their retry schedule, per endpoint (replayable)."),
            labels: labels
        ).set(Double(dead))
    }

    /// The Prometheus text exposition of every metric in the registry.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
