import Prometheus
import Synchronization

/// The counters and histograms of one registry, each looked up once per
/// label set and kept: an increment on the hot path is one small locked
/// dictionary read instead of the registry's name building, label
/// validation and registry-wide lock.
///
/// Invariant: a key names exactly one metric and label set (callers build
/// it from the metric's name and its label values), so the handle kept is
/// the one the registry would return.
package final class MetricHandles: Sendable {
    private let counters = Mutex<[String: Counter]>([:])
    private let histograms = Mutex<[String: DurationHistogram]>([:])

    package init() {}

    /// The key of a metric and its label values (unit separator between parts).
    package static func key(_ name: String, _ values: String...) -> String {
        ([name] + values).joined(separator: "\u{1F}")
    }

    package func counter(_ key: String, _ make: () -> Counter) -> Counter {
        if let counter = counters.withLock({ $0[key] }) { return counter }
        let counter = make()
        counters.withLock { $0[key] = counter }
        return counter
    }

    package func histogram(_ key: String, _ make: () -> DurationHistogram) -> DurationHistogram {
        if let histogram = histograms.withLock({ $0[key] }) { return histogram }
        let histogram = make()
        histograms.withLock { $0[key] = histogram }
        return histogram
    }
}
