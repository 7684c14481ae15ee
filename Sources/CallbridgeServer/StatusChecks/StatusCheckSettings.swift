import CallbridgeHandlers
import CallbridgeModel

/// How status checks are bounded and spaced (`status_checks:` in
/// callbridge.yaml). The poll schedule is the provider's (its handler
/// file); these apply to every provider.
///
/// Invariants: every count and rate is positive; `maxInFlightPerProvider`
/// never exceeds `maxInFlight`; the lease is at least 2 s. Caps are per
/// process: several processes sharing one PostgreSQL log each keep their own.
public struct StatusCheckSettings: Sendable, Hashable {
    /// `enabled: false` stops this process asking (jobs wait in the log for another).
    public var enabled = true
    /// Calls in flight at once, over all providers.
    public var maxInFlight = 8
    /// Calls in flight at once to one provider.
    public var maxInFlightPerProvider = 4
    /// Calls started per second to one provider (a token bucket with one second of burst).
    public var ratePerProvider = 5
    /// A return never makes a check start sooner than this after the order's last try.
    public var minInterval = ConfigDuration.seconds(10)
    /// Waits after failed tries (transport errors, 5xx, 429).
    public var retry: [ConfigDuration] = StatusCheckPolicy.defaultRetry.map(ConfigDuration.init(milliseconds:))
    /// How long a worker holds a job; a call's timeout is kept below half of it.
    public var lease = ConfigDuration.seconds(60)
    /// How often to look for due jobs when nothing rings (jobs other processes wrote, polls coming due).
    public var pollInterval = ConfigDuration.seconds(1)

    public init() {}

    /// The policy one provider's jobs follow.
    public func policy(poll: [Int64]) -> StatusCheckPolicy {
        StatusCheckPolicy(poll: poll, retry: retry.map(\.milliseconds), minInterval: minInterval.milliseconds)
    }

    /// The timeout a call gets: the handler file's, but below half the lease,
    /// so a lease never expires under a call that is still running.
    public func callTimeout(_ spec: StatusAPISpec) -> Int64 {
        min(spec.timeout.milliseconds, lease.milliseconds / 2)
    }

    static func parse(_ node: ConfigNode) throws(ConfigError) -> StatusCheckSettings {
        try node.rejectUnknownKeys(["enabled", "max_in_flight", "max_in_flight_per_provider", "rate_per_provider", "min_interval",
                                    "retry", "lease", "poll_interval"])
        var settings = StatusCheckSettings()
        if let v = try node.optional("enabled") { settings.enabled = try v.bool() }
        if let v = try node.optional("max_in_flight") { settings.maxInFlight = try v.int(in: 1...1024) }
        settings.maxInFlightPerProvider = min(settings.maxInFlightPerProvider, settings.maxInFlight)
        if let v = try node.optional("max_in_flight_per_provider") {
            settings.maxInFlightPerProvider = try v.int(in: 1...1024)
            guard settings.maxInFlightPerProvider <= settings.maxInFlight else {
                throw v.error("max_in_flight_per_provider (\(settings.maxInFlightPerProvider)) cannot exceed max_in_flight (\(settings.maxInFlight))")
            }
        }
        if let v = try node.optional("rate_per_provider") { settings.ratePerProvider = try v.int(in: 1...10_000) }
        if let v = try node.optional("min_interval") { settings.minInterval = try v.duration() }
        if let v = try node.optional("retry") {
            settings.retry = []
            for entry in try v.elements() {
                let wait = try entry.duration()
                guard wait.milliseconds >= 100 else { throw entry.error("a retry wait must be at least 100ms") }
                settings.retry.append(wait)
            }
            guard settings.retry.count <= 100 else { throw v.error("at most 100 retries") }
        }
        if let v = try node.optional("lease") {
            settings.lease = try v.duration()
            guard settings.lease.milliseconds >= 2_000, settings.lease <= .seconds(3_600) else { throw v.error("lease must be between 2s and 1h") }
        }
        if let v = try node.optional("poll_interval") {
            settings.pollInterval = try v.duration()
            guard settings.pollInterval.milliseconds >= 50, settings.pollInterval <= .seconds(600) else {
                throw v.error("poll_interval must be between 50ms and 10m")
            }
        }
        return settings
    }
}
