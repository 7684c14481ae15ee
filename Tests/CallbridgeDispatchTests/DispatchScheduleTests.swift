@testable import CallbridgeDispatch
import CallbridgeModel
import Testing

/// The dispatcher's scheduling (`DispatchSchedule`): capacity per endpoint,
/// and which endpoints' due work may end the wait. The busy loop it replaced
/// (work due on a full endpoint made every wait zero) is the first case.
@Suite struct DispatchScheduleTests {
    let t0 = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

    func schedule(_ endpoints: [(String, Int)] = [("a", 8), ("b", 4)], threshold: Int = 2) -> DispatchSchedule {
        DispatchSchedule(endpoints: endpoints.map { (name: $0.0, maxInFlight: $0.1) },
                         breaker: CircuitBreaker(failureThreshold: threshold, initialCooldown: .seconds(30)))
    }

    @Test("a full endpoint is not ready: its due work cannot end the wait, only its completions can")
    func fullEndpointIsNotReady() {
        var s = schedule()
        #expect(s.capacity(now: t0) == ["a": 8, "b": 4])
        s.leased(["a": 8])
        #expect(s.capacity(now: t0) == ["b": 4])
        #expect(s.ready(now: t0) == ["b"])
        s.leased(["b": 4])
        #expect(s.ready(now: t0).isEmpty, "nothing can be leased: the dispatcher waits for a completion or the poll")
        #expect(s.capacity(now: t0).isEmpty)
    }

    @Test("a busy endpoint is refilled a quarter of its capacity at a time; an idle one from its first free slot")
    func refillsInBatches() {
        var s = schedule([("a", 8)])
        s.leased(["a": 8])
        s.finished("a", success: true, now: t0)
        #expect(s.capacity(now: t0).isEmpty && s.ready(now: t0).isEmpty, "1 free of 8 is below a quarter")
        s.finished("a", success: true, now: t0)
        #expect(s.capacity(now: t0) == ["a": 2])
        var one = schedule([("solo", 1)])
        one.leased(["solo": 1])
        one.finished("solo", success: true, now: t0)
        #expect(one.capacity(now: t0) == ["solo": 1])
        #expect(one.inFlightTotal == 0)
    }

    @Test("an open breaker is not ready until its cooldown ends; then one probe, and not ready while it is out")
    func breakerGatesReadiness() {
        var s = schedule([("a", 8)], threshold: 2)
        s.leased(["a": 2])
        s.finished("a", success: false, now: t0)
        s.finished("a", success: false, now: t0)
        #expect(s.breakerLabels["a"] == "open")
        #expect(s.ready(now: t0.adding(milliseconds: 29_999)).isEmpty)
        #expect(s.nextBreakerReopen == t0.adding(milliseconds: 30_000))
        let reopened = t0.adding(milliseconds: 30_000)
        #expect(s.ready(now: reopened) == ["a"])
        #expect(s.capacity(now: reopened) == ["a": 1], "one probe")
        s.leased(["a": 1])
        #expect(s.ready(now: reopened).isEmpty, "the probe is out")
        s.finished("a", success: true, now: reopened)
        #expect(s.breakerLabels["a"] == "closed" && s.capacity(now: reopened) == ["a": 8])
    }

    @Test("a disabled endpoint is neither leased nor waited on; a shutdown return charges the breaker nothing")
    func disabledAndReturned() {
        var s = schedule()
        s.disabled = ["a"]
        #expect(s.capacity(now: t0) == ["b": 4] && s.ready(now: t0) == ["b"])
        s.leased(["b": 1])
        s.finished("b", success: nil, now: t0)
        #expect(s.breakerLabels["b"] == "closed" && s.inFlightTotal == 0)
        s.finished("b", success: nil, now: t0)
        #expect(s.inFlightTotal == 0, "never below zero")
    }
}
