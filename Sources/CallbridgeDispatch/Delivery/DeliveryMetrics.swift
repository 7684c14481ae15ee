import Prometheus

/// The dispatcher's Prometheus metrics: attempts per endpoint and outcome,
/// and the latency of each attempt. Registered in a registry the caller owns
/// (one per `serve` process, one per test), never in a global one.
///
/// - `callbridge_delivery_attempts_total{endpoint, outcome}`: counter;
///   `outcome` is `success` (2xx), `http_error` (any other status),
///   `timeout` or `connection_error`.
/// - `callbridge_delivery_attempt_duration_seconds{endpoint}`: histogram of
///   the time from sending to the answer (or failure) of one attempt.
public final class DeliveryMetrics: Sendable {
    /// Where the metrics are registered.
    public let registry: PrometheusCollectorRegistry
    private let handles = MetricHandles()

    /// Latency buckets, in seconds: from a local sink to an endpoint's timeout.
    static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// The `outcome` label of an attempt result.
    public static func outcome(of result: AttemptResult) -> String {
        switch result {
        case .response: return result.isSuccess ? "success" : "http_error"
        case .timeout: return "timeout"
        case .transportError: return "connection_error"
        }
    }

    /// Counts one finished attempt and records how long it took.
    public func recordAttempt(endpoint: String, result: AttemptResult, durationMilliseconds: Int64) {
        let outcome = Self.outcome(of: result)
        handles.counter(MetricHandles.key("attempts", endpoint, outcome)) {
            registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "callbridge", subsystem: "delivery", metricName: "attempts", unitName: "total",
                                                 helpText: "Delivery attempts by endpoint and outcome."),
                labels: [("endpoint", endpoint), ("outcome", outcome)]
            )
        }.increment()
        handles.histogram(MetricHandles.key("attempt_duration", endpoint)) {
            registry.makeDurationHistogram(
                descriptor: MetricNameDescriptor(namespace: "callbridge", subsystem: "delivery", metricName: "attempt_duration", unitName: "seconds",
                                                 helpText: "Time from sending a delivery attempt to its answer or failure."),
                labels: [("endpoint", endpoint)], buckets: Self.durationBuckets
            )
        }.record(.milliseconds(max(0, durationMilliseconds)))
    }
}
