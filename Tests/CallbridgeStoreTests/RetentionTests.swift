import CallbridgeModel
import Foundation
import Testing

@testable import CallbridgeStore
@testable import CallbridgeStoreSQLite

/// Retention never deletes anything undelivered.
@Suite struct RetentionTests {
    @Test(arguments: LogBackend.available) func pruneDeletesOnlyOldEventsWithNothingLeftToDeliver(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let now = SystemClock.now()
            let old = now.millisecondsSinceEpoch - 40 * 86_400_000
            let lease = ConfigDuration.seconds(30)

            let noDeliveries = Fixtures.record(endpoints: [], millis: old)
            let delivered = Fixtures.record(endpoints: ["orders"], millis: old)
            let pending = Fixtures.record(endpoints: ["ledger"], millis: old)
            let dead = Fixtures.record(endpoints: ["audit"], millis: old)
            let replayedDead = Fixtures.record(endpoints: ["refunds"], millis: old)
            let recent = Fixtures.record(endpoints: [], millis: now.millisecondsSinceEpoch)
            for record in [noDeliveries, delivered, pending, dead, replayedDead, recent] { _ = try await log.append(record) }
            // Deliveries are due from their append time on.
            let later = SystemClock.now()

            func finish(_ endpoint: String, _ resolution: DeliveryResolution) async throws {
                let leased = try await log.leaseDue(owner: "t", now: later, leaseDuration: lease, capacity: [endpoint: 1])
                let attempt = AttemptRecord(number: 1, startedAt: later, durationMilliseconds: 1, statusCode: 200, error: nil, responseSnippet: [])
                try await log.complete(try #require(leased.first), attempt: attempt, resolution: resolution, now: later)
            }
            try await finish("orders", .succeeded)
            try await finish("audit", .dead)
            try await finish("refunds", .dead)
            try await log.scheduleReplay([ReplayPlan(eventID: replayedDead.event.id, endpoints: ["refunds"],
                                                     supersedes: ["refunds": try #require(try await log.deliveries(forEvent: replayedDead.event.id).first).id])], now: later)
            try await finish("refunds", .succeeded)

            let cutoff = now.adding(milliseconds: -30 * 86_400_000)
            #expect(try await log.prunableCount(before: cutoff) == 3)
            #expect(try await log.prune(before: cutoff, batchSize: 1) == 3)
            let remaining = Set(try await log.allEvents().map(\.id))
            #expect(remaining == [pending.event.id, dead.event.id, recent.event.id])
            #expect(try await log.deliveries(forEvent: delivered.event.id).isEmpty)
            #expect(try await log.prunableCount(before: cutoff) == 0)
        }
    }
}
