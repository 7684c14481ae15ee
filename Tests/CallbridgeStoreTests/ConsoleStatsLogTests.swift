import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Testing

@testable import CallbridgeStore
@testable import CallbridgeStorePostgres

/// `ConsoleLog` on every `LogBackend`: the event search behind the console's
/// filters and live cursor, activity per bucket (events and attempts), and
/// the latest status-check tries across orders.
@Suite struct ConsoleStatsLogTests {
    static let base = Fixtures.baseMillis

    /// An event of `order` received at `millis`, with one delivery to `orders`.
    static func event(_ type: EventType = .paymentSucceeded, order: String, channel: Channel = .callback, verified: Bool = true,
                      provider: String = "juspay", millis: Int64) -> IngestRecord {
        var record = StatusCheckLogTests.record(type, order: order, route: channel == .redirect ? "return" : "webhook", channel: channel,
                                                verified: verified, verification: verified ? .basicAuth : .none, amount: "100.00",
                                                dedupKey: nil, millis: millis, statusCheck: nil)
        record.event.data.provider = provider
        record.targets = [DeliveryTarget(endpoint: "orders")]
        return record
    }

    @Test(arguments: LogBackend.available) func searchFiltersEveryColumnAndPagesBothWays(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let records = [
                Self.event(order: "ord_a", millis: Self.base),
                Self.event(.paymentPending, order: "ord_b", channel: .redirect, verified: false, millis: Self.base + 60_000),
                Self.event(order: "ord_<b>\"'", provider: "luxfin", millis: Self.base + 120_000),
                Self.event(.paymentFailed, order: "ord_a", millis: Self.base + 180_000),
            ]
            for record in records { #expect(try await log.append(record).isStored(record.event.id)) }
            let ids = records.map(\.event.id)
            func search(_ build: (inout EventSearch) -> Void) async throws -> [EventID] {
                var search = EventSearch(limit: 50)
                build(&search)
                return try await log.searchEvents(search).map(\.id)
            }
            #expect(try await search { _ in } == ids.reversed())
            #expect(try await search { $0.orderID = "ord_a" } == [ids[3], ids[0]])
            #expect(try await search { $0.orderID = "ord_<b>\"'" } == [ids[2]])
            #expect(try await search { $0.provider = "luxfin" } == [ids[2]])
            #expect(try await search { $0.channel = .redirect } == [ids[1]])
            #expect(try await search { $0.verified = false } == [ids[1]])
            #expect(try await search { $0.verified = true; $0.type = .paymentSucceeded } == [ids[2], ids[0]])
            #expect(try await search {
                $0.since = Timestamp(millisecondsSinceEpoch: Self.base + 60_000)
                $0.until = Timestamp(millisecondsSinceEpoch: Self.base + 120_000)
            } == [ids[2], ids[1]])
            // The live cursor: only newer events, still newest first; and the page cursor the other way.
            #expect(try await search { $0.after = ids[1] } == [ids[3], ids[2]])
            #expect(try await search { $0.after = ids[3] } == [])
            #expect(try await search { $0.before = ids[2] } == [ids[1], ids[0]])
            #expect(try await search { $0.after = ids[0]; $0.before = ids[3] } == [ids[2], ids[1]])
            #expect(try await search { $0.limit = 2 } == [ids[3], ids[2]])
            #expect(try await search { $0.limit = 0 } == [])
        }
    }

    @Test(arguments: LogBackend.available) func activityCountsEventsAndAttemptsPerBucket(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            // Events at 0 s, 30 s and 150 s; a bucket is one minute.
            for (index, offset) in [0, 30_000, 150_000].enumerated() {
                #expect(try await log.append(Self.event(order: "ord_\(index)", millis: Self.base + Int64(offset))).isStored)
            }
            let leaseTime = SystemClock.now()  // deliveries are due from their commit
            let leases = try await log.leaseDue(owner: "test", now: leaseTime, leaseDuration: .seconds(60), capacity: ["orders": 10])
            #expect(leases.count == 3)
            // Attempts: two in the first minute (200 in 40 ms, 500 in 100 ms), one in the third (204 in 10 ms).
            let attempts: [(Int64, Int?, Int64)] = [(10_000, 200, 40), (50_000, 500, 100), (125_000, 204, 10)]
            for (lease, (offset, status, duration)) in zip(leases, attempts) {
                let attempt = AttemptRecord(number: 1, startedAt: Timestamp(millisecondsSinceEpoch: Self.base + offset), durationMilliseconds: duration,
                                            statusCode: status, error: status == 500 ? "HTTP 500" : nil, responseSnippet: [])
                try await log.complete(lease, attempt: attempt, resolution: status == 500 ? .dead : .succeeded, now: leaseTime)
            }
            let since = Timestamp(millisecondsSinceEpoch: Self.base)
            let buckets = try await log.activity(since: since, until: since.adding(milliseconds: 240_000), bucketMilliseconds: 60_000)
            #expect(buckets.map(\.start.millisecondsSinceEpoch) == [0, 60_000, 120_000, 180_000].map { Self.base + $0 })
            #expect(buckets.map(\.events) == [2, 0, 1, 0])
            #expect(buckets.map(\.attempts) == [2, 0, 1, 0])
            #expect(buckets.map(\.succeeded) == [1, 0, 1, 0])
            #expect(buckets.map(\.totalDurationMilliseconds) == [140, 0, 10, 0])
            #expect(buckets.map(\.maxDurationMilliseconds) == [100, 0, 10, 0])
            // The window's ends are [since, until): an event at exactly `until` is outside.
            let shifted = try await log.activity(since: since.adding(milliseconds: 30_000), until: since.adding(milliseconds: 150_000),
                                                 bucketMilliseconds: 60_000)
            #expect(shifted.map(\.events) == [1, 0])
            #expect(shifted.map(\.attempts) == [1, 1])
            #expect(try await log.activity(since: since, until: since, bucketMilliseconds: 60_000).isEmpty)
        }
    }

    @Test(arguments: LogBackend.available) func recentTriesSpanEveryOrderNewestFirst(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            #expect(try await log.recentStatusCheckTries(limit: 10).isEmpty)
            let now = Timestamp(millisecondsSinceEpoch: Self.base)
            for order in ["ord_1", "ord_2"] {
                _ = try await log.requestStatusCheck(provider: "juspay", orderID: order, transactionID: nil, now: now)
            }
            let leases = try await log.leaseStatusChecks(provider: "juspay", limit: 10, owner: "worker", leaseFor: 30_000, now: now)
            #expect(leases.count == 2)
            for (index, lease) in leases.enumerated() {
                let attempt = StatusCheckTry(startedAt: now.adding(milliseconds: Int64(index) * 1000), durationMilliseconds: 12 + Int64(index),
                                             httpStatus: 503, error: "HTTP 503 from \(lease.orderID)", outcome: .retry, reason: .manual)
                #expect(try await log.completeStatusCheck(lease, result: .failed(retryable: true, retryAfter: nil, attempt),
                                                          policy: StatusCheckLogTests.policy, now: now) != nil)
            }
            let recent = try await log.recentStatusCheckTries(limit: 10)
            #expect(recent.map(\.orderID) == leases.reversed().map(\.orderID))
            #expect(recent.allSatisfy { $0.provider == "juspay" && $0.attempt.httpStatus == 503 && $0.attempt.reason == .manual })
            #expect(recent.first?.attempt.error == "HTTP 503 from \(recent.first?.orderID ?? "")")
            #expect(try await log.recentStatusCheckTries(limit: 1).count == 1)
        }
    }
}
