import CallbridgeModel
import Foundation
import Testing

@testable import CallbridgeStore
@testable import CallbridgeStoreSQLite

/// Each replay selector picks exactly the events it names.
@Suite struct ReplaySelectionTests {
    @Test(arguments: LogBackend.available) func everySelectorPicksExactlyItsEvents(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let base = Fixtures.baseMillis
            let early = Fixtures.record(provider: "juspay", type: .paymentSucceeded, endpoints: ["orders"], millis: base)
            let middle = Fixtures.record(provider: "nonstopay", type: .paymentFailed, endpoints: ["orders"], millis: base + 60_000)
            let late = Fixtures.record(provider: "juspay", type: .refundSucceeded, endpoints: ["orders"], millis: base + 120_000)
            for record in [early, middle, late] { _ = try await log.append(record) }
            let now = SystemClock.now()
            // early: succeeded; middle: failed once (pending, attempt 1); late: untouched (pending, no attempt).
            let leases = try await log.leaseDue(owner: "t", now: now, leaseDuration: .seconds(30), capacity: ["orders": 2])
            let byEvent = Dictionary(uniqueKeysWithValues: leases.map { ($0.eventID, $0) })
            func attempt(_ status: Int) -> AttemptRecord {
                AttemptRecord(number: 1, startedAt: now, durationMilliseconds: 1, statusCode: status, error: nil, responseSnippet: [])
            }
            try await log.complete(try #require(byEvent[early.event.id]), attempt: attempt(200), resolution: .succeeded, now: now)
            try await log.complete(try #require(byEvent[middle.event.id]), attempt: attempt(500), resolution: .retry(at: now.adding(milliseconds: 60_000)), now: now)

            func ids(_ selection: ReplaySelection) async throws -> [EventID] {
                #expect(try await log.replayCandidateCount(selection) == (try await log.replayCandidates(selection, after: nil, limit: 100)).count)
                return try await log.replayCandidates(selection, after: nil, limit: 100).map(\.event.id)
            }
            let t = { (offset: Int64) in Timestamp(millisecondsSinceEpoch: base + offset) }
            #expect(try await ids(ReplaySelection(eventIDs: [late.event.id, early.event.id])) == [early.event.id, late.event.id])
            #expect(try await ids(ReplaySelection(since: t(60_000))) == [middle.event.id, late.event.id])
            #expect(try await ids(ReplaySelection(until: t(60_000))) == [early.event.id])
            #expect(try await ids(ReplaySelection(since: t(1), until: t(120_000))) == [middle.event.id])
            #expect(try await ids(ReplaySelection(provider: "juspay")) == [early.event.id, late.event.id])
            #expect(try await ids(ReplaySelection(type: .paymentFailed)) == [middle.event.id])
            #expect(try await ids(ReplaySelection(state: .succeeded)) == [early.event.id])
            #expect(try await ids(ReplaySelection(state: .failed)) == [middle.event.id])
            #expect(try await ids(ReplaySelection(state: .dead)) == [])
            #expect(try await ids(ReplaySelection(endpoint: "ledger", state: .succeeded)) == [])
            // Batches stream without gaps or repeats.
            let first = try await log.replayCandidates(ReplaySelection(provider: "juspay"), after: nil, limit: 1)
            let second = try await log.replayCandidates(ReplaySelection(provider: "juspay"), after: first.last?.event.id, limit: 1)
            #expect((first + second).map(\.event.id) == [early.event.id, late.event.id])
        }
    }
}
