import CallbridgeDispatch
import CallbridgeModel
import CallbridgeStore
import Testing

@Suite struct RetryPolicyTests {
    let now = Timestamp(rfc3339: "2026-11-23T10:00:00Z")!
    let defaultPolicy = RetryPolicy(schedule: EndpointConfig.defaultRetrySchedule)

    func delay(_ decision: RetryPolicy.Decision) -> Int64? {
        if case .retry(let at) = decision.resolution { return at.millisecondsSinceEpoch - now.millisecondsSinceEpoch }
        return nil
    }

    @Test func successSucceedsWhateverTheAttempt() {
        #expect(defaultPolicy.decide(after: .response(status: 204, retryAfter: nil), attemptNumber: 8, now: now, random: 0.5).resolution == .succeeded)
    }

    @Test func defaultScheduleIsSvixsAndEachFailureWaitsTheNextDelayWithinTwentyPercent() {
        let expected: [Int64] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]
        for (index, base) in expected.enumerated() {
            let low = delay(defaultPolicy.decide(after: .response(status: 500, retryAfter: nil), attemptNumber: index + 1, now: now, random: 0))
            let high = delay(defaultPolicy.decide(after: .response(status: 500, retryAfter: nil), attemptNumber: index + 1, now: now, random: 0.999_999))
            #expect(low == base * 8 / 10)
            // random → 1 approaches +20 % from below.
            #expect(high.map { $0 <= base * 12 / 10 && $0 >= base * 12 / 10 - base / 10_000 } == true)
        }
    }

    @Test func theLastScheduledAttemptFailingMakesTheDeliveryDead() {
        #expect(defaultPolicy.decide(after: .response(status: 500, retryAfter: nil), attemptNumber: 8, now: now, random: 0.5).resolution == .dead)
    }

    @Test func redirectsAreFailures() {
        #expect(delay(defaultPolicy.decide(after: .response(status: 302, retryAfter: nil), attemptNumber: 1, now: now, random: 0.5)) != nil)
    }

    @Test func goneDisablesTheEndpoint() {
        let decision = defaultPolicy.decide(after: .response(status: 410, retryAfter: nil), attemptNumber: 1, now: now, random: 0.5)
        #expect(decision.disableEndpoint)
        #expect(delay(decision) != nil)
    }

    @Test func retryAfterIsHonouredBetweenTheScheduledDelayAndTwiceIt() {
        // Attempt 2 failed: the scheduled delay before attempt 3 is 5 minutes.
        let within = defaultPolicy.decide(after: .response(status: 500, retryAfter: "420"), attemptNumber: 2, now: now, random: 0.5)
        #expect(delay(within) == 420_000)
        let tooLong = defaultPolicy.decide(after: .response(status: 500, retryAfter: "86400"), attemptNumber: 2, now: now, random: 0.5)
        #expect(delay(tooLong) == 600_000)
        let tooShort = defaultPolicy.decide(after: .response(status: 500, retryAfter: "1"), attemptNumber: 2, now: now, random: 0.5)
        #expect(delay(tooShort) == 300_000)
        let date = defaultPolicy.decide(after: .response(status: 500, retryAfter: "Mon, 23 Nov 2026 10:08:00 GMT"), attemptNumber: 2, now: now, random: 0.5)
        #expect(delay(date) == 480_000)
    }

    @Test(arguments: [AttemptResult.response(status: 429, retryAfter: nil), .response(status: 502, retryAfter: nil),
                      .response(status: 503, retryAfter: nil), .response(status: 504, retryAfter: nil), .timeout])
    func overloadAndTimeoutsBackOffAtLeastSixtySeconds(_ result: AttemptResult) {
        let fast = RetryPolicy(schedule: ["0s", "1s", "1s"].compactMap(ConfigDuration.init(parsing:)))
        #expect(delay(fast.decide(after: result, attemptNumber: 1, now: now, random: 0.5)) == 60_000)
    }

    @Test func connectionErrorsFollowTheScheduleWithoutTheFloor() {
        let fast = RetryPolicy(schedule: ["0s", "1s", "1s"].compactMap(ConfigDuration.init(parsing:)))
        #expect(delay(fast.decide(after: .transportError("connection refused"), attemptNumber: 1, now: now, random: 0.5)) == 1_000)
    }
}

@Suite struct CircuitBreakerTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_000_000)

    @Test func opensAfterThresholdConsecutiveFailuresAndStopsPermits() {
        var breaker = CircuitBreaker(failureThreshold: 3, initialCooldown: .seconds(10))
        for _ in 0..<2 { breaker.recordFailure(now: t0) }
        #expect(breaker.permits(free: 8, now: t0) == 8)
        breaker.recordFailure(now: t0)
        #expect(breaker.label == "open")
        #expect(breaker.permits(free: 8, now: t0.adding(milliseconds: 9_999)) == 0)
    }

    @Test func aSuccessResetsTheFailureCount() {
        var breaker = CircuitBreaker(failureThreshold: 3)
        breaker.recordFailure(now: t0)
        breaker.recordFailure(now: t0)
        breaker.recordSuccess()
        breaker.recordFailure(now: t0)
        breaker.recordFailure(now: t0)
        #expect(breaker.label == "closed")
    }

    @Test func afterTheCooldownOneProbeDecides() {
        var breaker = CircuitBreaker(failureThreshold: 1, initialCooldown: .seconds(10))
        breaker.recordFailure(now: t0)
        let later = t0.adding(milliseconds: 10_000)
        #expect(breaker.permits(free: 8, now: later) == 1)
        breaker.started(1)
        #expect(breaker.permits(free: 8, now: later) == 0)
        breaker.recordSuccess()
        #expect(breaker.permits(free: 8, now: later) == 8)
    }

    @Test func aFailedProbeReopensForLonger() {
        var breaker = CircuitBreaker(failureThreshold: 1, initialCooldown: .seconds(10))
        breaker.recordFailure(now: t0)
        let later = t0.adding(milliseconds: 10_000)
        _ = breaker.permits(free: 1, now: later)
        breaker.started(1)
        breaker.recordFailure(now: later)
        #expect(breaker.reopensAt == later.adding(milliseconds: 20_000))
    }
}

@Suite struct WebhookSignerTests {
    @Test func signsStandardWebhooksAndVerifiesWithEverySecretDuringRotation() throws {
        let old = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let new = WebhookSigner.newSecret()
        let signer = try #require(WebhookSigner(secrets: [new, old]))
        let body = Array(#"{"id":"evt_x"}"#.utf8)
        let header = signer.signature(id: "evt_x", timestamp: 1_700_000_000, body: body)
        #expect(header.split(separator: " ").count == 2)
        let onlyOld = try #require(WebhookSigner(secrets: [old]))
        #expect(onlyOld.verify(id: "evt_x", timestamp: 1_700_000_000, body: body, header: header, now: Timestamp(secondsSinceEpoch: 1_700_000_010)))
        #expect(!onlyOld.verify(id: "evt_x", timestamp: 1_700_000_000, body: body + [0x20], header: header, now: Timestamp(secondsSinceEpoch: 1_700_000_010)))
        #expect(!onlyOld.verify(id: "evt_x", timestamp: 1_700_000_000, body: body, header: header, now: Timestamp(secondsSinceEpoch: 1_700_000_400)))
    }

    @Test func anAbsurdTimestampIsOutsideTheWindowRatherThanATrap() throws {
        let signer = try #require(WebhookSigner(secrets: [WebhookSigner.newSecret()]))
        let now = Timestamp(secondsSinceEpoch: 1_700_000_000)
        #expect(!signer.verify(id: "evt_x", timestamp: Int64.min, body: [], header: "v1,AAAA", now: now))
        #expect(!signer.verify(id: "evt_x", timestamp: Int64.max, body: [], header: "v1,AAAA", now: now))
    }

    @Test func refusesSecretsThatAreNotWhsecBase64() {
        #expect(WebhookSigner(secrets: ["not-a-secret"]) == nil)
        #expect(WebhookSigner(secrets: ["whsec_***"]) == nil)
        #expect(WebhookSigner(secrets: []) == nil)
    }
}
