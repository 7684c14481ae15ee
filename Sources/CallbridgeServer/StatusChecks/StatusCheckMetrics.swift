import CallbridgeModel
import CallbridgeStore
import Logging
import Prometheus
import Synchronization

/// The status checks' Prometheus metrics, in the registry the caller owns:
///
/// - `callbridge_status_checks_total{provider, outcome}`: tries by outcome
///   (`answered`, `retry`, `gave_up`, `failed`, `skipped`, `abandoned`).
/// - `callbridge_status_check_verdicts_total{provider, verdict}`: returns
///   answered (`confirmed`, `differs`) or left `unanswered` by a check.
/// - `callbridge_status_check_queue{provider, state}`: jobs `waiting` or
///   `leased`, from the log at scrape time.
/// - `callbridge_status_check_oldest_due_age_seconds{provider}`: how long the
///   oldest due job has waited past its due time (0 if none).
public final class StatusCheckMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let gauged = Mutex<Set<String>>([])

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    public func recordTry(provider: String, outcome: StatusCheckOutcome) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "callbridge", metricName: "status_checks", unitName: "total",
                                             helpText: "Status-check tries, by provider and outcome."),
            labels: [("provider", provider), ("outcome", outcome.rawValue)]
        ).increment()
    }

    public func recordVerdict(provider: String, verdict: StatusCheckVerdict) {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "callbridge", metricName: "status_check_verdicts", unitName: "total",
                                             helpText: "Browser returns a status check answered (confirmed, differs) or left unanswered, by provider."),
            labels: [("provider", provider), ("verdict", verdict.label)]
        ).increment()
    }

    /// Sets the queue gauges from the log (`StatusCheckLog.statusCheckQueue`);
    /// a provider that left the queue is reset to 0 rather than frozen.
    public func refreshQueueGauges(_ queue: [String: StatusCheckQueueDepth], providers: [String], now: Timestamp) {
        gauged.withLock { known in
            let all = known.union(providers).union(queue.keys)
            for provider in all {
                let depth = queue[provider] ?? StatusCheckQueueDepth(waiting: 0, leased: 0, oldestDue: nil)
                let age = depth.oldestDue.map { max(0, Double(now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch) / 1000) } ?? 0
                for (state, count) in [("waiting", depth.waiting), ("leased", depth.leased)] {
                    registry.makeGauge(
                        descriptor: MetricNameDescriptor(namespace: "callbridge", metricName: "status_check_queue", unitName: "",
                                                         helpText: "Status-check jobs waiting or leased, per provider (from the log at scrape time)."),
                        labels: [("provider", provider), ("state", state)]
                    ).set(Double(count))
                }
                registry.makeGauge(
                    descriptor: MetricNameDescriptor(namespace: "callbridge", metricName: "status_check_oldest_due_age", unitName: "seconds",
                                                     helpText: "How long the oldest due status-check job has waited past its due time, per provider."),
                    labels: [("provider", provider)]
                ).set(age)
            }
            known = all
        }
    }
}
