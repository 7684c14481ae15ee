import CallbridgeModel
import CallbridgeStore

/// Decides what happens to a delivery after an attempt (docs/ARCHITECTURE.md,
/// "Delivery and leasing"): success, a retry at a jittered time from the schedule, or
/// `dead` when the schedule is exhausted; and whether the endpoint must be
/// disabled (410). Pure: the clock and the randomness are passed in.
///
/// Invariants: `schedule[n]` is the delay before attempt `n + 1`, so the
/// schedule's length is the number of attempts; jitter stays within ±20 %;
/// a `Retry-After` is honoured within [scheduled, 2 × scheduled]; 429, 502,
/// 503, 504 and timeouts wait at least `slowDownFloor`.
public struct RetryPolicy: Sendable, Hashable {
    public var schedule: [ConfigDuration]
    public var jitter: Double
    public static let slowDownFloor = ConfigDuration.seconds(60)

    public init(schedule: [ConfigDuration], jitter: Double = 0.2) {
        precondition(!schedule.isEmpty, "a retry schedule has at least one attempt")
        self.schedule = schedule
        self.jitter = jitter
    }

    /// The policy's verdict for one attempt.
    public struct Decision: Sendable, Hashable {
        public var resolution: DeliveryResolution
        public var disableEndpoint: Bool
    }

    /// - Parameters:
    ///   - attemptNumber: the attempt just made, 1-based.
    ///   - random: a value in [0, 1) that picks the jitter.
    public func decide(after result: AttemptResult, attemptNumber: Int, now: Timestamp, random: Double) -> Decision {
        if result.isSuccess { return Decision(resolution: .succeeded, disableEndpoint: false) }
        let gone = result.isGone
        guard attemptNumber < schedule.count else { return Decision(resolution: .dead, disableEndpoint: gone) }
        let delay = retryDelay(after: result, attemptNumber: attemptNumber, now: now, random: random)
        return Decision(resolution: .retry(at: now.adding(milliseconds: delay)), disableEndpoint: gone)
    }

    /// Milliseconds to wait before attempt `attemptNumber + 1`.
    func retryDelay(after result: AttemptResult, attemptNumber: Int, now: Timestamp, random: Double) -> Int64 {
        let scheduled = schedule[attemptNumber].milliseconds
        let factor = 1 - jitter + 2 * jitter * random.clamped01
        var delay = Int64(saturating: (Double(scheduled) * factor).rounded())
        let ceiling = scheduled.saturatingMultiplied(by: 2)
        if case .response(_, let retryAfter?) = result, let asked = RetryPolicy.parseRetryAfter(retryAfter, now: now, limit: ceiling) {
            delay = min(max(asked, scheduled), ceiling)
        }
        if result.asksToSlowDown { delay = max(delay, RetryPolicy.slowDownFloor.milliseconds) }
        return max(0, delay)
    }

    /// `Retry-After` as milliseconds from `now`, at most `limit`: delay-seconds
    /// (digits only; a number too large for any integer type asks for the
    /// limit) or an HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`; a date in the
    /// past asks for 0). Nil when unparseable. The value comes from an
    /// endpoint's response: it is clamped before any multiplication.
    public static func parseRetryAfter(_ value: String, now: Timestamp, limit: Int64 = .max) -> Int64? {
        let limit = max(0, limit)
        let text = value.trimmingSpaces()
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let seconds = Int64(text), seconds <= limit / 1000 else { return limit }
            return seconds * 1000
        }
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", parts[1].utf8.count <= 2, parts[3].utf8.count == 4,
              let day = Int(parts[1]), let year = Int(parts[3]) else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let monthIndex = months.firstIndex(of: String(parts[2])) else { return nil }
        func pad(_ n: Int, _ width: Int) -> String {
            let digits = String(n)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let iso = "\(pad(year, 4))-\(pad(monthIndex + 1, 2))-\(pad(day, 2))T\(parts[4])Z"
        guard let at = Timestamp(rfc3339: iso) else { return nil }
        return min(max(0, at.milliseconds(since: now)), limit)
    }
}

private extension Double {
    /// The random draw limited to [0, 1] (NaN counts as 0.5: no jitter either way).
    var clamped01: Double { isNaN ? 0.5 : Swift.min(Swift.max(self, 0), 1) }
}
