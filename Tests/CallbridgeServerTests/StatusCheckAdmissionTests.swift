@testable import CallbridgeServer
import Testing

/// The status-check worker's caps (`StatusCheckAdmission`): calls in flight
/// globally and per provider, and the per-provider rate bucket.
@Suite struct StatusCheckAdmissionTests {
    @Test("the per-provider and the global caps bound what may start")
    func caps() {
        var admission = StatusCheckAdmission(total: 5, perProvider: 3, rate: 1_000)
        #expect(admission.capacity("juspay", now: 0) == 3)
        admission.started("juspay", count: 3, now: 0)
        #expect(admission.capacity("juspay", now: 0) == 0)
        #expect(admission.capacity("luxfin", now: 0) == 2, "the global cap leaves 2")
        admission.started("luxfin", count: 2, now: 0)
        #expect(admission.capacity("nonstopay", now: 0) == 0)
        admission.finished("juspay")
        #expect(admission.capacity("nonstopay", now: 0) == 1)
        #expect(admission.capacity("juspay", now: 0) == 1)
        #expect(admission.inFlightTotal == 4)
    }

    @Test("the rate bucket allows one second of burst, then refills at rate per second")
    func rate() {
        var admission = StatusCheckAdmission(total: 100, perProvider: 100, rate: 4)
        #expect(admission.capacity("luxfin", now: 0) == 4)
        admission.started("luxfin", count: 4, now: 0)
        for _ in 0..<4 { admission.finished("luxfin") }
        #expect(admission.capacity("luxfin", now: 0) == 0)
        #expect(admission.waitForToken("luxfin", now: 0) == 250)
        #expect(admission.capacity("luxfin", now: 249) == 0)
        #expect(admission.capacity("luxfin", now: 250) == 1)
        #expect(admission.capacity("luxfin", now: 10_000) == 4, "never more than one second of burst")
        #expect(admission.waitForToken("luxfin", now: 10_000) == nil)
    }

    @Test("no token wait is reported when only a completion can free a slot")
    func fullSlots() {
        var admission = StatusCheckAdmission(total: 2, perProvider: 2, rate: 1)
        admission.started("juspay", count: 1, now: 0)
        #expect(admission.capacity("juspay", now: 0) == 0, "no token left")
        #expect(admission.waitForToken("juspay", now: 0) == 1_000)
        admission.started("luxfin", count: 1, now: 0)
        #expect(admission.waitForToken("juspay", now: 0) == nil, "both slots are taken")
    }

    @Test("a per-provider cap above the global one is lowered to it")
    func clamps() {
        var admission = StatusCheckAdmission(total: 2, perProvider: 8, rate: 10)
        #expect(admission.capacity("juspay", now: 0) == 2)
    }
}
