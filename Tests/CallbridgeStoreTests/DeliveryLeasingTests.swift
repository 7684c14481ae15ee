import CallbridgeModel
import Foundation
import Testing

@testable import CallbridgeStore
@testable import CallbridgeStoreSQLite

/// Leasing, attempt recording and endpoint state, on every `LogBackend`.
@Suite struct DeliveryLeasingTests {
    let lease30s = ConfigDuration.seconds(30)

    func attempt(_ number: Int, status: Int?, at now: Timestamp) -> AttemptRecord {
        AttemptRecord(number: number, startedAt: now, durationMilliseconds: 12, statusCode: status, error: status == 200 ? nil : "HTTP \(status ?? 0)",
                      responseSnippet: Array("ok".utf8))
    }

    @Test(arguments: LogBackend.available) func dueDeliveriesAreLeasedOnceWithTheEnvelopeBytesAndRespectCapacity(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            var records: [IngestRecord] = []
            for _ in 0..<5 { records.append(Fixtures.record(endpoints: ["orders", "ledger"])) }
            for record in records { _ = try await log.append(record) }
            let now = SystemClock.now()

            let first = try await log.leaseDue(owner: "a", now: now, leaseDuration: lease30s, capacity: ["orders": 3, "ledger": 10])
            #expect(first.filter { $0.endpoint == "orders" }.count == 3)
            #expect(first.filter { $0.endpoint == "ledger" }.count == 5)
            // The bytes stored at commit (the appended event, placed in its order's story).
            var byID: [EventID: [UInt8]] = [:]
            for record in records { byID[record.event.id] = try #require(try await log.event(id: record.event.id)).event.envelopeBytes }
            #expect(first.allSatisfy { byID[$0.eventID] == $0.envelope })
            #expect(first.allSatisfy { (try? Event(envelopeBytes: $0.envelope))?.data.order != nil })

            // A second dispatcher sees only what is still free.
            let second = try await log.leaseDue(owner: "b", now: now, leaseDuration: lease30s, capacity: ["orders": 10, "ledger": 10])
            #expect(second.count == 2)
            #expect(Set(second.map(\.id)).isDisjoint(with: Set(first.map(\.id))))
        }
    }

    @Test(arguments: LogBackend.available) func anAppendIsStampedByTheLogsClock(_ backend: LogBackend) async throws {
        // A clock far from the wall clock: the new delivery falls due at its commit time, and not before.
        let committedAt = try #require(Timestamp(rfc3339: "2031-06-01T12:00:00Z"))
        try await backend.withLog(clock: { committedAt }) { (log: any EventLog) async throws in
            _ = try await log.append(Fixtures.record(endpoints: ["orders"]))
            let early = try await log.leaseDue(owner: "a", now: committedAt.adding(milliseconds: -1), leaseDuration: lease30s, capacity: ["orders": 1])
            #expect(early.isEmpty)
            #expect(try await log.nextDueAt(endpoints: ["orders"]) == committedAt)
            let statistics = try #require(try await log.endpointStatistics(now: committedAt).first { $0.endpoint == "orders" })
            #expect(statistics.oldestDueAt == committedAt)
            let due = try await log.leaseDue(owner: "a", now: committedAt, leaseDuration: lease30s, capacity: ["orders": 1])
            #expect(due.count == 1)
        }
    }

    @Test(arguments: LogBackend.available) func anExpiredLeaseMakesTheDeliveryDueAgainForAnotherOwner(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            _ = try await log.append(Fixtures.record(endpoints: ["orders"]))
            let now = SystemClock.now()
            let crashed = try await log.leaseDue(owner: "crashed", now: now, leaseDuration: lease30s, capacity: ["orders": 1])
            #expect(crashed.count == 1)
            #expect(try await log.leaseDue(owner: "b", now: now.adding(milliseconds: 29_000), leaseDuration: lease30s, capacity: ["orders": 1]).isEmpty)
            let retaken = try await log.leaseDue(owner: "b", now: now.adding(milliseconds: 30_001), leaseDuration: lease30s, capacity: ["orders": 1])
            #expect(retaken.map(\.id) == crashed.map(\.id))
            // The crashed owner can no longer resolve it, but its attempt is still recorded.
            let stale = try await log.complete(crashed[0], attempt: attempt(1, status: 200, at: now), resolution: .succeeded, now: now)
            #expect(!stale)
            #expect(try await log.attempts(forDelivery: crashed[0].id).count == 1)
            #expect(try await log.complete(retaken[0], attempt: attempt(1, status: 200, at: now), resolution: .succeeded, now: now))
        }
    }

    @Test(arguments: LogBackend.available) func completeRecordsTheAttemptAndResolvesTheDelivery(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let record = Fixtures.record(endpoints: ["orders"])
            _ = try await log.append(record)
            let now = SystemClock.now()
            let lease = try #require(try await log.leaseDue(owner: "a", now: now, leaseDuration: lease30s, capacity: ["orders": 1]).first)
            let later = now.adding(milliseconds: 5_000)
            #expect(try await log.complete(lease, attempt: attempt(1, status: 500, at: now), resolution: .retry(at: later), now: now))

            var delivery = try #require(try await log.deliveries(forEvent: record.event.id).first)
            #expect(delivery.state == .pending)
            #expect(delivery.attemptCount == 1)
            #expect(delivery.nextAttemptAt == later)
            #expect(delivery.lastStatusCode == 500)
            #expect(try await log.nextDueAt(endpoints: ["orders"]) == later)
            #expect(try await log.nextDueAt(endpoints: ["ledger"]) == nil)
            #expect(try await log.leaseDue(owner: "a", now: now, leaseDuration: lease30s, capacity: ["orders": 1]).isEmpty)

            let again = try #require(try await log.leaseDue(owner: "a", now: later, leaseDuration: lease30s, capacity: ["orders": 1]).first)
            #expect(again.attemptCount == 1)
            try await log.complete(again, attempt: attempt(2, status: 200, at: later), resolution: .succeeded, now: later)
            delivery = try #require(try await log.deliveries(forEvent: record.event.id).first)
            #expect(delivery.state == .succeeded)
            #expect(delivery.attemptCount == 2)
            let attempts = try await log.attempts(forDelivery: delivery.id)
            #expect(attempts.map(\.number) == [1, 2])
            #expect(attempts.map(\.statusCode) == [500, 200])
            #expect(attempts[1].responseSnippet == Array("ok".utf8))
            #expect(try await log.nextDueAt(endpoints: ["orders"]) == nil)
        }
    }

    @Test(arguments: LogBackend.available) func deadDeliveriesStayInTheLog(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let record = Fixtures.record(endpoints: ["orders"])
            _ = try await log.append(record)
            let now = SystemClock.now()
            let lease = try #require(try await log.leaseDue(owner: "a", now: now, leaseDuration: lease30s, capacity: ["orders": 1]).first)
            try await log.complete(lease, attempt: attempt(1, status: 500, at: now), resolution: .dead, now: now)
            #expect(try await log.deliveries(forEvent: record.event.id).map(\.state) == [.dead])
            let stats = try await log.endpointStatistics(now: now)
            #expect(stats.first?.dead == 1)
            #expect(stats.first?.lastStatusCode == 500)
            #expect(try await log.leaseDue(owner: "a", now: now.adding(milliseconds: 86_400_000), leaseDuration: lease30s, capacity: ["orders": 9]).isEmpty)
        }
    }

    @Test(arguments: LogBackend.available) func releasedLeasesAreDueAtOnceForTheNextOwner(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            for _ in 0..<3 { _ = try await log.append(Fixtures.record(endpoints: ["orders"])) }
            let now = SystemClock.now()
            _ = try await log.leaseDue(owner: "stopping", now: now, leaseDuration: lease30s, capacity: ["orders": 3])
            #expect(try await log.releaseLeases(owner: "stopping", now: now) == 3)
            #expect(try await log.leaseDue(owner: "next", now: now, leaseDuration: lease30s, capacity: ["orders": 3]).count == 3)
        }
    }

    @Test(arguments: LogBackend.available) func disabledEndpointsAreNotLeasedUntilEnabledAgainAndNothingIsDropped(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            _ = try await log.append(Fixtures.record(endpoints: ["orders", "ledger"]))
            let now = SystemClock.now()
            try await log.setEndpoint("orders", disabled: true, reason: "410 Gone", now: now)
            #expect(try await log.disabledEndpoints() == ["orders": "410 Gone"])
            let leased = try await log.leaseDue(owner: "a", now: now, leaseDuration: lease30s, capacity: ["orders": 5, "ledger": 5])
            #expect(leased.map(\.endpoint) == ["ledger"])
            try await log.setEndpoint("orders", disabled: false, reason: nil, now: now)
            #expect(try await log.leaseDue(owner: "a", now: now, leaseDuration: lease30s, capacity: ["orders": 5]).count == 1)
        }
    }

    @Test(arguments: LogBackend.available) func aStaleLeaseOfTheSameOwnerCannotResolveItsNewLease(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let record = Fixtures.record(endpoints: ["orders"])
            _ = try await log.append(record)
            let now = SystemClock.now()
            // The owner's first attempt outlives its lease; the same owner leases the delivery again.
            let old = try #require(try await log.leaseDue(owner: "a", now: now, leaseDuration: lease30s, capacity: ["orders": 1]).first)
            let later = now.adding(milliseconds: 30_001)
            let new = try #require(try await log.leaseDue(owner: "a", now: later, leaseDuration: lease30s, capacity: ["orders": 1]).first)
            #expect(new.id == old.id)
            // The late completion of the old attempt is recorded but resolves nothing.
            #expect(try await !log.complete(old, attempt: attempt(1, status: 500, at: now), resolution: .retry(at: later), now: later))
            #expect(try await log.deliveries(forEvent: record.event.id).first?.state == .inFlight)
            #expect(try await log.complete(new, attempt: attempt(2, status: 200, at: later), resolution: .succeeded, now: later))
            #expect(try await log.deliveries(forEvent: record.event.id).first?.state == .succeeded)
            #expect(try await log.attempts(forDelivery: old.id).count == 2)
        }
    }
}
