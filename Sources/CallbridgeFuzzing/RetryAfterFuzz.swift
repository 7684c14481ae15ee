import CallbridgeDispatch
import CallbridgeModel
import CallbridgeStore

/// `RetryPolicy.parseRetryAfter` and `RetryPolicy.decide` with the input as the
/// `Retry-After` header: the parsed delay is never negative, and a retry is
/// never scheduled before now, never before the scheduled delay when the
/// header was understood, and never later than the larger of twice the
/// scheduled delay and the slow-down floor.
enum RetryAfterFuzz {
    static let now = Timestamp(secondsSinceEpoch: 1_795_428_000)
    static let policy = RetryPolicy(schedule: [.seconds(0), .seconds(30), .seconds(300), .seconds(3600)])

    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let asked = RetryPolicy.parseRetryAfter(text, now: now)
        if let asked { invariant(asked >= 0, "parseRetryAfter(\(describe(text))) = \(asked)") }
        for status in [429, 500, 503] {
            for attempt in 1..<policy.schedule.count {
                for random in [0.0, 0.5, 0.999] {
                    let decision = policy.decide(after: .response(status: status, retryAfter: text), attemptNumber: attempt, now: now, random: random)
                    guard case .retry(let at) = decision.resolution else {
                        invariant(false, "attempt \(attempt) of \(policy.schedule.count) with \(status) did not retry: \(decision.resolution)")
                        return
                    }
                    let delay = at.millisecondsSinceEpoch - now.millisecondsSinceEpoch
                    let scheduled = policy.schedule[attempt].milliseconds
                    let upper = max(2 * scheduled, RetryPolicy.slowDownFloor.milliseconds)
                    invariant(delay >= 0 && delay <= upper, "status \(status), attempt \(attempt), Retry-After \(describe(text)): delay \(delay) ms outside 0...\(upper)")
                    if asked != nil { invariant(delay >= scheduled, "Retry-After \(describe(text)) shortened the scheduled \(scheduled) ms to \(delay) ms") }
                }
            }
        }
        let last = policy.decide(after: .response(status: 503, retryAfter: text), attemptNumber: policy.schedule.count, now: now, random: 0.5)
        invariant(last.resolution == .dead, "the last attempt did not end the delivery")
    }
}
