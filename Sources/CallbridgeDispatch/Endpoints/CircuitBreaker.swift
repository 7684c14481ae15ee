import CallbridgeModel

/// Pauses an endpoint that keeps failing, so it stops consuming attempts and
/// capacity, then lets one probe decide whether it is back (docs/ARCHITECTURE.md,
/// "Delivery and leasing": a slow or failing endpoint never delays the others).
///
/// A state machine in the swift-nio style: `mutating` transitions, no I/O.
///   closed(failures) ─N consecutive failures→ open(until)
///   open(until) ─time passes→ halfOpen (one probe allowed)
///   halfOpen ─probe succeeds→ closed(0) │ ─probe fails→ open(longer)
public struct CircuitBreaker: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case closed(consecutiveFailures: Int)
        case open(until: Timestamp, cooldown: ConfigDuration)
        case halfOpen(probeInFlight: Bool, cooldown: ConfigDuration)
    }

    public private(set) var state: State = .closed(consecutiveFailures: 0)
    public let failureThreshold: Int
    public let initialCooldown: ConfigDuration
    public let maximumCooldown: ConfigDuration

    public init(failureThreshold: Int = 5, initialCooldown: ConfigDuration = .seconds(30), maximumCooldown: ConfigDuration = .seconds(600)) {
        self.failureThreshold = failureThreshold
        self.initialCooldown = initialCooldown
        self.maximumCooldown = maximumCooldown
    }

    /// How many attempts may start now given `free` capacity: all of it when
    /// closed, none when open, one probe when half-open.
    public mutating func permits(free: Int, now: Timestamp) -> Int {
        if case .open(let until, let cooldown) = state, now >= until {
            state = .halfOpen(probeInFlight: false, cooldown: cooldown)
        }
        switch state {
        case .closed: return free
        case .open: return 0
        case .halfOpen(let probing, _): return probing ? 0 : min(1, free)
        }
    }

    /// Call when attempts were started with a permit.
    public mutating func started(_ count: Int) {
        if case .halfOpen(false, let cooldown) = state, count > 0 { state = .halfOpen(probeInFlight: true, cooldown: cooldown) }
    }

    public mutating func recordSuccess() {
        state = .closed(consecutiveFailures: 0)
    }

    public mutating func recordFailure(now: Timestamp) {
        switch state {
        case .closed(let failures):
            if failures + 1 >= failureThreshold {
                state = .open(until: now.adding(milliseconds: initialCooldown.milliseconds), cooldown: initialCooldown)
            } else {
                state = .closed(consecutiveFailures: failures + 1)
            }
        case .halfOpen(_, let cooldown):
            let longer = ConfigDuration(milliseconds: min(cooldown.milliseconds * 2, maximumCooldown.milliseconds))
            state = .open(until: now.adding(milliseconds: longer.milliseconds), cooldown: longer)
        case .open:
            break  // a straggler from before the breaker opened
        }
    }

    /// When an open breaker lets a probe through; nil otherwise.
    public var reopensAt: Timestamp? {
        if case .open(let until, _) = state { return until }
        return nil
    }

    /// `closed`, `open` or `half_open`, for `endpoints list` and metrics.
    public var label: String {
        switch state {
        case .closed: return "closed"
        case .open: return "open"
        case .halfOpen: return "half_open"
        }
    }
}
