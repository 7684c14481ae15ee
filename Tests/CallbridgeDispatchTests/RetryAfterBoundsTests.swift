import CallbridgeDispatch
import CallbridgeModel
import CallbridgeStore
import Testing

/// `Retry-After` comes from an endpoint's response: no value of it can trap
/// the dispatcher or push a retry beyond twice the scheduled delay.
@Suite struct RetryAfterBoundsTests {
    let now = Timestamp(secondsSinceEpoch: 1_795_428_000)
    let policy = RetryPolicy(schedule: [.seconds(0), .seconds(5), .seconds(300)], jitter: 0)

    @Test("huge delay-seconds ask for the limit instead of overflowing", arguments: [
        "99999999999999999", "9223372036854775807", "9223372036854776", "99999999999999999999999999999999",
    ])
    func hugeSeconds(value: String) throws {
        #expect(RetryPolicy.parseRetryAfter(value, now: now, limit: 600_000) == 600_000)
        let decision = policy.decide(after: .response(status: 503, retryAfter: value), attemptNumber: 2, now: now, random: 0.5)
        guard case .retry(let at) = decision.resolution else { Issue.record("expected a retry, got \(decision)"); return }
        #expect(at.milliseconds(since: now) == 600_000)  // 2 × the scheduled 300 s
    }

    @Test("delay-seconds within the limit are honoured exactly")
    func plainSeconds() {
        #expect(RetryPolicy.parseRetryAfter("120", now: now, limit: 600_000) == 120_000)
        #expect(RetryPolicy.parseRetryAfter(" 7 ", now: now) == 7_000)
    }

    @Test("signed, fractional or empty values are not delay-seconds", arguments: ["-5", "+5", "1.5", "", "  ", "5s"])
    func notDigits(value: String) {
        #expect(RetryPolicy.parseRetryAfter(value, now: now) == nil)
    }

    @Test("HTTP dates: far future is the limit, the past is zero, impossible years are ignored")
    func dates() {
        #expect(RetryPolicy.parseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now: now, limit: 600_000) == 600_000)
        #expect(RetryPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: now, limit: 600_000) == 0)
        #expect(RetryPolicy.parseRetryAfter("Mon, 23 Nov 2026 10:01:00 GMT", now: now) == 60_000)
        #expect(RetryPolicy.parseRetryAfter("Sun, 06 Nov 99999 08:49:37 GMT", now: now) == nil)
        #expect(RetryPolicy.parseRetryAfter("Sun, 06 Nov 0000 08:49:37 GMT", now: now) == nil)
        #expect(RetryPolicy.parseRetryAfter("Sun, 999999999999999999999 Nov 2026 08:49:37 GMT", now: now) == nil)
    }

    @Test("a past date still waits the scheduled delay")
    func pastDateWaitsSchedule() {
        let decision = policy.decide(after: .response(status: 500, retryAfter: "Sun, 06 Nov 1994 08:49:37 GMT"), attemptNumber: 1, now: now, random: 0.5)
        #expect(decision.resolution == .retry(at: now.adding(milliseconds: 5_000)))
    }

    @Test("a random draw outside [0, 1) or NaN keeps the jitter bound")
    func badRandom() {
        let jittered = RetryPolicy(schedule: [.seconds(0), .seconds(100)], jitter: 0.2)
        for random in [Double.nan, -5, 7, .infinity] {
            let decision = jittered.decide(after: .response(status: 500, retryAfter: nil), attemptNumber: 1, now: now, random: random)
            guard case .retry(let at) = decision.resolution else { Issue.record("expected a retry"); continue }
            #expect((80_000...120_000).contains(at.milliseconds(since: now)))
        }
    }
}
