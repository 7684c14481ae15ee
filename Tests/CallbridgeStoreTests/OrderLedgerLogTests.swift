import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import CallbridgeStore
@testable import CallbridgeStoreSQLite
@testable import CallbridgeStorePostgres

/// The order ledger (`OrderLog`, README "Order truth") on every `LogBackend`:
/// events placed in their order's story in the transaction that stores them,
/// deliveries admitted by each endpoint's `order_events`, per-order delivery
/// chains, revision placing again, and the ledger reads.
/// On PostgreSQL, also several processes writing one order's story at once.
@Suite struct OrderLedgerLogTests {
    static let base = Fixtures.baseMillis
    static let lease = ConfigDuration.seconds(30)
    static let all = DeliveryTarget(endpoint: "all", orderEvents: .all)
    static let forward = DeliveryTarget(endpoint: "fwd", orderEvents: .forward)
    static let ship = DeliveryTarget(endpoint: "ship", orderEvents: .all, perOrder: true)

    /// A payment event of `order` (nil: no order id), as ingest hands it over.
    static func record(_ type: EventType, order: String? = "ord_1", provider: String = "juspay", verified: Bool = true,
                       amount: String? = "100.00", dedupKey: String? = nil, targets: [DeliveryTarget] = [],
                       millis: Int64 = base) -> IngestRecord {
        let received = Timestamp(millisecondsSinceEpoch: millis)
        let data = EventData(
            provider: provider, route: "webhook", channel: .callback, verified: verified, verification: verified ? .basicAuth : .none,
            orderID: order, transactionID: "txn_\(millis)", providerEventID: dedupKey, providerStatus: type.rawValue,
            amount: amount.flatMap { DecimalAmount($0) }, currency: CurrencyCode("INR"), receivedAt: received)
        let event = Event(id: EventID.generate(millisecondsSinceEpoch: UInt64(millis)), type: type, timestamp: received, data: data)
        let raw = RawRequest(method: "POST", path: "/hooks/\(provider)", query: "", headers: [], body: Array("{}".utf8),
                             remoteAddress: nil, receivedAt: received)
        return IngestRecord(event: event, raw: raw, dedupKey: dedupKey, targets: targets)
    }

    static func attempt(at now: Timestamp, status: Int) -> AttemptRecord {
        AttemptRecord(number: 1, startedAt: now, durationMilliseconds: 3, statusCode: status, error: status == 200 ? nil : "HTTP \(status)",
                      responseSnippet: [])
    }

    static func leaseAll(_ log: any EventLog, _ endpoint: String, at now: Timestamp, owner: String = "w") async throws -> [LeasedDelivery] {
        try await log.leaseDue(owner: owner, now: now, leaseDuration: lease, capacity: [endpoint: 100]).sorted { $0.id < $1.id }
    }

    static func finish(_ log: any EventLog, _ leased: LeasedDelivery, _ resolution: DeliveryResolution, at now: Timestamp) async throws {
        let status = resolution == .succeeded ? 200 : 500
        #expect(try await log.complete(leased, attempt: attempt(at: now, status: status), resolution: resolution, now: now))
    }

    static func delivery(_ log: any EventLog, of record: IngestRecord, to endpoint: String) async throws -> DeliveryRecord {
        try #require(try await log.deliveries(forEvent: record.event.id).first { $0.endpoint == endpoint })
    }

    static func amount(_ text: String) -> DecimalAmount { DecimalAmount(text)! }
    static let inr = CurrencyCode("INR")!

    // MARK: - Placement at commit

    @Test(arguments: LogBackend.available) func placementsAreNumberedFromOneAndTheStoredEnvelopeCarriesThem(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let records = [
                Self.record(.paymentCreated, millis: Self.base),
                Self.record(.paymentPending, millis: Self.base + 1),
                Self.record(.paymentSucceeded, millis: Self.base + 2),
                Self.record(.paymentSucceeded, order: "ord_2", millis: Self.base + 3),
                Self.record(.paymentSucceeded, order: nil, millis: Self.base + 4),
                Self.record(.paymentSucceeded, order: "", millis: Self.base + 5),
            ]
            var outcomes: [AppendOutcome] = []
            for record in records { outcomes.append(try await log.append(record)) }

            #expect(outcomes.map { $0.order?.sequence } == [1, 2, 3, 1, nil, nil])
            #expect(outcomes[1].order == OrderPlacement(sequence: 2, state: .pending, previousState: .created, transition: .advanced))
            #expect(outcomes[2].order == OrderPlacement(sequence: 3, state: .succeeded, previousState: .pending, transition: .advanced))
            for (record, outcome) in zip(records, outcomes) {
                let stored = try #require(try await log.event(id: record.event.id))
                var expected = record.event
                expected.data.order = outcome.order
                #expect(stored.event == expected)
                #expect(stored.event.envelopeBytes == expected.envelopeBytes)
            }
            // In the bytes endpoints receive: `data.order`.
            let envelope = try #require(try await log.event(id: records[2].event.id)).event.envelopeBytes
            let order = try JSONParser().parse(String(decoding: envelope, as: UTF8.self))["data"]?["order"]
            #expect(order?["sequence"] == .number("3"))
            #expect(order?["previous_state"] == .string("pending"))
            #expect(try JSONParser().parse(String(decoding: try #require(try await log.event(id: records[4].event.id)).event.envelopeBytes,
                                                  as: UTF8.self))["data"]?["order"] == .null)

            let entry = try #require(try await log.order(provider: "juspay", orderID: "ord_1"))
            #expect(entry.state == .succeeded)
            #expect(entry.counts.events == 3)
            #expect(entry.counts.advanced == 3)
            #expect(entry.lastChangeEventID == records[2].event.id)
            #expect(entry.firstSeenAt == Timestamp(millisecondsSinceEpoch: Self.base))
            #expect(entry.lastSeenAt == Timestamp(millisecondsSinceEpoch: Self.base + 2))
            #expect(entry.amount == Self.amount("100.00"))
            #expect(entry.paidAmount == Self.amount("100.00"))
            // One entry per (provider, order id); none for events without an order id.
            #expect(try await log.order(provider: "luxfin", orderID: "ord_1") == nil)
            #expect(try await log.order(provider: "juspay", orderID: "") == nil)
            #expect(try await log.orders(matching: OrderQuery()).map(\.entry.orderID) == ["ord_2", "ord_1"])
        }
    }

    @Test(arguments: LogBackend.available) func oneBatchPlacesSeveralEventsOfAnOrderInRecordOrderAndDuplicatesNotAtAll(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let earlier = Self.record(.paymentCreated, dedupKey: "created", millis: Self.base)
            #expect(try await log.append(earlier).order?.sequence == 1)
            let batch = [
                Self.record(.paymentCreated, dedupKey: "created", millis: Self.base + 1),  // stored before the batch
                Self.record(.paymentPending, dedupKey: "pending", millis: Self.base + 2),
                Self.record(.paymentPending, dedupKey: "pending", millis: Self.base + 3),  // follows the one before
                Self.record(.paymentSucceeded, order: "ord_2", millis: Self.base + 4),
                Self.record(.paymentSucceeded, millis: Self.base + 5),
            ]
            let outcomes = try await GroupCommitProbe.writeBatch(log, batch).map { try $0.get() }
            #expect(outcomes[0] == .duplicate(of: earlier.event.id))
            #expect(outcomes[2] == .duplicate(of: batch[1].event.id))
            #expect(outcomes.map { $0.order?.sequence } == [nil, 2, nil, 1, 3])
            #expect(outcomes[4].order?.previousState == .pending)
            #expect(try await log.order(provider: "juspay", orderID: "ord_1")?.counts.events == 3)
            #expect(try await log.order(provider: "juspay", orderID: "ord_2")?.counts.events == 1)
            #expect(try await log.event(id: batch[4].event.id)?.event.data.order?.sequence == 3)
        }
    }

    // MARK: - What endpoints receive

    @Test(arguments: LogBackend.available) func aStalePendingAfterSuccessGoesToAllButNotToForwardEndpoints(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let targets = [Self.all, Self.forward]
            let paid = Self.record(.paymentSucceeded, targets: targets, millis: Self.base)
            let late = Self.record(.paymentPending, targets: targets, millis: Self.base + 1)
            let again = Self.record(.paymentSucceeded, targets: targets, millis: Self.base + 2)
            let orderless = Self.record(.paymentPending, order: nil, targets: targets, millis: Self.base + 3)

            #expect(try await log.append(paid).deliveries == 2)
            let stale = try await log.append(late)
            #expect(stale.order == OrderPlacement(sequence: 2, state: .succeeded, previousState: .succeeded, transition: .stale))
            #expect(stale.deliveries == 1)
            #expect(try await log.deliveries(forEvent: late.event.id).map(\.endpoint) == ["all"])
            let repeated = try await log.append(again)
            #expect(repeated.order?.transition == .repeated)
            #expect(try await log.deliveries(forEvent: again.event.id).map(\.endpoint) == ["all"])
            // An event outside any order goes to every endpoint.
            #expect(try await log.append(orderless).deliveries == 2)

            let entry = try #require(try await log.order(provider: "juspay", orderID: "ord_1"))
            #expect(entry.state == .succeeded)
            #expect(entry.counts.stale == 1)
            #expect(entry.counts.repeated == 1)
        }
    }

    @Test(arguments: LogBackend.available) func aHintIsPlacedAndCountedButDoesNotMoveTheOrder(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let hint = Self.record(.paymentSucceeded, verified: false, targets: [Self.forward], millis: Self.base)
            let outcome = try await log.append(hint)
            // Classified as if proven (it would advance), but the order stays where it was.
            #expect(outcome.order == OrderPlacement(sequence: 1, state: .unknown, previousState: .unknown, transition: .advanced))
            #expect(outcome.deliveries == 1)
            var entry = try #require(try await log.order(provider: "juspay", orderID: "ord_1"))
            #expect(entry.state == .unknown)
            #expect(entry.paymentState == .unknown)
            #expect(entry.amount == nil)
            #expect(entry.lastChangeEventID == nil)
            #expect(entry.counts.events == 1)
            #expect(entry.counts.hints == 1)
            #expect(entry.counts.verified == 0)

            let proven = try await log.append(Self.record(.paymentPending, millis: Self.base + 1))
            #expect(proven.order == OrderPlacement(sequence: 2, state: .pending, previousState: .unknown, transition: .advanced))
            entry = try #require(try await log.order(provider: "juspay", orderID: "ord_1"))
            #expect(entry.state == .pending)
            #expect(entry.counts.verified == 1)
        }
    }

    @Test(arguments: LogBackend.available) func aSuccessContradictingTheRegisteredAmountIsAConflictThatForwardEndpointsReceive(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let now = Timestamp(millisecondsSinceEpoch: Self.base)
            let (registered, registration) = try await log.registerOrder(provider: "juspay", orderID: "ord_9", amount: Self.amount("100.00"),
                                                                         currency: Self.inr, now: now)
            #expect(registration.created)
            #expect(registration.mismatch.isEmpty)
            #expect(registered.expectedAmount == Self.amount("100.00"))
            #expect(registered.registeredAt == now)
            // The entry exists before any event.
            let before = try #require(try await log.order(provider: "juspay", orderID: "ord_9"))
            #expect(before == registered)
            #expect(before.counts.events == 0)

            let cheap = Self.record(.paymentSucceeded, order: "ord_9", amount: "1.00", targets: [Self.forward], millis: Self.base + 1)
            let outcome = try await log.append(cheap)
            #expect(outcome.order == OrderPlacement(sequence: 1, state: .unknown, previousState: .unknown, transition: .conflict,
                                                    mismatch: [OrderMismatch(field: "amount", expected: "100.00", got: "1.00")]))
            #expect(outcome.deliveries == 1)
            #expect(try await log.deliveries(forEvent: cheap.event.id).map(\.endpoint) == ["fwd"])
            let entry = try #require(try await log.order(provider: "juspay", orderID: "ord_9"))
            #expect(entry.hasMismatch)
            #expect(entry.counts.conflicts == 1)
            #expect(entry.state == .unknown)

            // Another amount is refused, and changes nothing; the same amount again is accepted.
            await #expect(throws: OrderRegistrationError.alreadyRegistered(amount: Self.amount("100.00"), currency: Self.inr)) {
                _ = try await log.registerOrder(provider: "juspay", orderID: "ord_9", amount: Self.amount("150.00"), currency: Self.inr, now: now)
            }
            #expect(try await log.order(provider: "juspay", orderID: "ord_9") == entry)
            let (_, again) = try await log.registerOrder(provider: "juspay", orderID: "ord_9", amount: Self.amount("100.0"), currency: Self.inr,
                                                         now: now)
            #expect(!again.created)
        }
    }

    // MARK: - Per-order chains

    @Test(arguments: LogBackend.available) func perOrderDeliveriesGoOutOneAtATimeAndEachEndReleasesTheNext(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let records = [
                Self.record(.paymentCreated, targets: [Self.ship], millis: Self.base),
                Self.record(.paymentPending, targets: [Self.ship], millis: Self.base + 1),
                Self.record(.paymentSucceeded, targets: [Self.ship], millis: Self.base + 2),
            ]
            for record in records { #expect(try await log.append(record).deliveries == 1) }
            // The head is due; the others are parked: pending, never due.
            #expect(try await Self.delivery(log, of: records[0], to: "ship").nextAttemptAt != nil)
            for record in records.dropFirst() {
                let parked = try await Self.delivery(log, of: record, to: "ship")
                #expect(parked.state == .pending)
                #expect(parked.nextAttemptAt == nil)
            }
            let now = SystemClock.now()
            let head = try await Self.leaseAll(log, "ship", at: now)
            #expect(head.map(\.eventID) == [records[0].event.id])

            // A retry keeps the head: nothing is released.
            let later = now.adding(milliseconds: 1000)
            try await Self.finish(log, head[0], .retry(at: later), at: now)
            #expect(try await Self.delivery(log, of: records[1], to: "ship").nextAttemptAt == nil)
            #expect(try await Self.leaseAll(log, "ship", at: later.adding(milliseconds: 86_400_000)).map(\.eventID) == [records[0].event.id])
        }
    }

    @Test(arguments: LogBackend.available) func aSucceededOrDeadHeadReleasesTheNextInSequence(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let records = (0..<3).map { i in Self.record(.paymentPending, targets: [Self.ship], millis: Self.base + Int64(i)) }
            for record in records { _ = try await log.append(record) }
            let now = SystemClock.now()

            let first = try await Self.leaseAll(log, "ship", at: now)
            #expect(first.map(\.eventID) == [records[0].event.id])
            try await Self.finish(log, first[0], .succeeded, at: now)
            // Due when the head ended; the one after it stays parked.
            #expect(try await Self.delivery(log, of: records[1], to: "ship").nextAttemptAt == now)
            #expect(try await Self.delivery(log, of: records[2], to: "ship").nextAttemptAt == nil)

            let second = try await Self.leaseAll(log, "ship", at: now)
            #expect(second.map(\.eventID) == [records[1].event.id])
            try await Self.finish(log, second[0], .dead, at: now)
            let third = try await Self.leaseAll(log, "ship", at: now)
            #expect(third.map(\.eventID) == [records[2].event.id])

            // Appended while the head is in flight: parked behind it, released when it ends.
            let fourth = Self.record(.paymentSucceeded, targets: [Self.ship], millis: Self.base + 3)
            _ = try await log.append(fourth)
            #expect(try await Self.delivery(log, of: fourth, to: "ship").nextAttemptAt == nil)
            try await Self.finish(log, third[0], .succeeded, at: now)
            let last = try await Self.leaseAll(log, "ship", at: now)
            #expect(last.map(\.eventID) == [fourth.event.id])
            try await Self.finish(log, last[0], .succeeded, at: now)

            // With nothing unfinished, the next one is due at once.
            let fifth = Self.record(.refundPending, targets: [Self.ship], millis: Self.base + 4)
            _ = try await log.append(fifth)
            #expect(try await Self.delivery(log, of: fifth, to: "ship").nextAttemptAt != nil)
            #expect(try await log.deliveries(forEvent: records[1].event.id).map(\.state) == [.dead])
        }
    }

    @Test(arguments: LogBackend.available) func aChainHoldsBackOnlyItsOwnOrderAndItsOwnEndpoint(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let targets = [Self.ship, DeliveryTarget(endpoint: "plain")]
            let batch = [
                Self.record(.paymentCreated, order: "ord_a", targets: targets, millis: Self.base),
                Self.record(.paymentPending, order: "ord_a", targets: targets, millis: Self.base + 1),
                Self.record(.paymentCreated, order: "ord_b", targets: targets, millis: Self.base + 2),
                Self.record(.paymentCreated, order: nil, targets: targets, millis: Self.base + 3),
            ]
            let outcomes = try await GroupCommitProbe.writeBatch(log, batch).map { try $0.get() }
            #expect(outcomes.map(\.deliveries) == [2, 2, 2, 2])
            let now = SystemClock.now()
            // ord_a's second waits; ord_b's and the orderless event's do not.
            #expect(Set(try await Self.leaseAll(log, "ship", at: now).map(\.eventID)) == [batch[0].event.id, batch[2].event.id, batch[3].event.id])
            #expect(try await Self.leaseAll(log, "plain", at: now).count == 4)
            #expect(try await Self.delivery(log, of: batch[1], to: "ship").nextAttemptAt == nil)
        }
    }

    // MARK: - Revision

    @Test(arguments: LogBackend.available) func revisingPlacesTheNewFormAgainAndReturnsThePreviousPlacement(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let record = Self.record(.paymentPending, millis: Self.base)
            let appended = try await log.append(record)

            var succeeded = record.event
            succeeded.type = .paymentSucceeded
            let revision = try #require(try await log.revise(succeeded, now: Timestamp(millisecondsSinceEpoch: Self.base + 10)))
            #expect(revision.previousOrder == appended.order)
            // The order is rebuilt with the new form in the old one's place: nothing came before it.
            #expect(revision.event.data.order == OrderPlacement(sequence: 2, state: .succeeded, previousState: .unknown, transition: .advanced))
            #expect(try await log.event(id: record.event.id)?.event == revision.event)
            #expect(try await log.revisions(of: record.event.id).map { $0.event.data.order } == [appended.order])
            #expect(try await log.order(provider: "juspay", orderID: "ord_1")?.counts.events == 2)

            // Re-normalized into another order: placed there, from 1.
            var moved = revision.event
            moved.data.orderID = "ord_other"
            let again = try #require(try await log.revise(moved, now: Timestamp(millisecondsSinceEpoch: Self.base + 20)))
            #expect(again.previousOrder?.sequence == 2)
            #expect(again.event.data.order?.sequence == 1)
            #expect(try await log.order(provider: "juspay", orderID: "ord_other")?.counts.events == 1)
            // The order it left is rebuilt without it.
            let left = try #require(try await log.order(provider: "juspay", orderID: "ord_1"))
            #expect(left.state == .unknown && left.counts.events == 2 && left.counts.verified == 0)
            // Without an order id: no placement.
            var orderless = again.event
            orderless.data.orderID = nil
            #expect(try await log.revise(orderless, now: Timestamp(millisecondsSinceEpoch: Self.base + 30))?.event.data.order == nil)

            #expect(try await log.revise(Self.record(.paymentPending).event, now: Timestamp(millisecondsSinceEpoch: Self.base)) == nil)
        }
    }

    /// Re-normalizing a refund (twice, and with a refund id it lacked) counts it once.
    @Test(arguments: LogBackend.available) func revisingARefundNeverCountsItTwice(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            _ = try await log.append(Self.record(.paymentSucceeded, millis: Self.base))
            let refund = Self.record(.refundSucceeded, amount: "60.00", millis: Self.base + 1)
            _ = try await log.append(refund)
            var fixed = refund.event
            fixed.data.refundID = "rfd_1"
            _ = try #require(try await log.revise(fixed, now: Timestamp(millisecondsSinceEpoch: Self.base + 10)))
            let again = try #require(try await log.revise(fixed, now: Timestamp(millisecondsSinceEpoch: Self.base + 20)))
            #expect(again.event.data.order?.transition == .advanced && again.event.data.order?.sequence == 4)
            let entry = try #require(try await log.order(provider: "juspay", orderID: "ord_1"))
            #expect(entry.refundedAmount.text == "60.00" && entry.refunds.keys.sorted() == ["rfd_1"])
            #expect(entry.state == .partiallyRefunded && !entry.hasMismatch && entry.counts.events == 4)
        }
    }

    // MARK: - Reading the ledger

    @Test(arguments: LogBackend.available) func ordersArePagedNewestFirstAndFiltered(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            _ = try await log.append(Self.record(.paymentSucceeded, order: "ord_a", millis: Self.base))
            _ = try await log.append(Self.record(.paymentPending, order: "ord_b", millis: Self.base + 1))
            _ = try await log.append(Self.record(.paymentSucceeded, order: "ord_c", provider: "luxfin", millis: Self.base + 2))
            _ = try await log.registerOrder(provider: "juspay", orderID: "ord_d", amount: Self.amount("100.00"), currency: Self.inr,
                                            now: Timestamp(millisecondsSinceEpoch: Self.base))
            _ = try await log.append(Self.record(.paymentSucceeded, order: "ord_d", amount: "1.00", millis: Self.base + 3))
            _ = try await log.append(Self.record(.paymentFailed, order: "ord_e", provider: "luxfin", millis: Self.base + 4))
            func ids(_ query: OrderQuery) async throws -> [String] { try await log.orders(matching: query).map(\.entry.orderID) }

            let all = try await log.orders(matching: OrderQuery())
            #expect(all.map(\.entry.orderID) == ["ord_e", "ord_d", "ord_c", "ord_b", "ord_a"])
            #expect(zip(all, all.dropFirst()).allSatisfy { $0.cursor > $1.cursor })

            var pages: [[String]] = []
            var cursor: Int64?
            while true {
                let page = try await log.orders(matching: OrderQuery(before: cursor, limit: 2))
                if page.isEmpty { break }
                pages.append(page.map(\.entry.orderID))
                cursor = page.last?.cursor
            }
            #expect(pages == [["ord_e", "ord_d"], ["ord_c", "ord_b"], ["ord_a"]])

            #expect(try await ids(OrderQuery(provider: "juspay")) == ["ord_d", "ord_b", "ord_a"])
            #expect(try await ids(OrderQuery(state: .succeeded)) == ["ord_c", "ord_a"])
            #expect(try await ids(OrderQuery(mismatch: true)) == ["ord_d"])
            #expect(try await ids(OrderQuery(mismatch: false)) == ["ord_e", "ord_c", "ord_b", "ord_a"])
            #expect(try await ids(OrderQuery(provider: "luxfin", state: .failed)) == ["ord_e"])
            #expect(try await ids(OrderQuery(provider: "juspay", before: all[2].cursor)) == ["ord_b", "ord_a"])
            #expect(try await ids(OrderQuery(limit: 0)).isEmpty)
        }
    }

    @Test(arguments: LogBackend.available) func theStoryListsEveryPlacementInSequenceWithTheDeliveriesOfEach(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let hint = Self.record(.paymentPending, verified: false, millis: Self.base)
            let proven = Self.record(.paymentPending, targets: [Self.all], millis: Self.base + 1)
            _ = try await log.append(hint)
            _ = try await log.append(proven)
            _ = try await log.append(Self.record(.paymentPending, order: "ord_2", targets: [Self.all], millis: Self.base + 2))
            var verifiedForm = hint.event
            verifiedForm.data.verified = true
            verifiedForm.data.verification = .basicAuth
            _ = try #require(try await log.revise(verifiedForm, now: Timestamp(millisecondsSinceEpoch: Self.base + 10)))

            let story = try await log.orderStory(provider: "juspay", orderID: "ord_1")
            #expect(story.map(\.event.id) == [hint.event.id, proven.event.id, hint.event.id])
            #expect(story.map { $0.event.data.order?.sequence } == [1, 2, 3])
            #expect(story.map(\.revision) == [1, 1, 2])
            #expect(story.map(\.isCurrent) == [false, true, true])
            #expect(story.map(\.event.data.verified) == [false, true, true])
            #expect(story.map { $0.deliveries.map(\.endpoint) } == [[], ["all"], []])
            #expect(try await log.orderStory(provider: "juspay", orderID: "ord_none").isEmpty)
        }
    }

    // MARK: - Log copy

    /// `log copy` pages through the ledger on its own: every order exactly
    /// once whatever the page size, including orders no event names; event
    /// batches carry none.
    @Test(arguments: [1, 2, 3, 100]) func exportPagesCarryEveryOrderExactlyOnce(_ batchSize: Int) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let log = try SQLiteEventLog(path: dir.path("log.sqlite"))
        let now = SystemClock.now().millisecondsSinceEpoch
        for i in 0..<8 {
            let order = i % 3 == 0 ? nil : "ord_\(i % 5)"
            _ = try await log.append(Self.record(.paymentPending, order: order, millis: now - 4 + Int64(i)))
            if i == 4 {
                _ = try await log.registerOrder(provider: "juspay", orderID: "ord_registered", amount: Self.amount("1.00"), currency: Self.inr,
                                                now: Timestamp(millisecondsSinceEpoch: now))
            }
        }
        var exported: [Int64] = []
        var cursor: Int64?
        while true {
            let page = try await log.exportOrders(after: cursor, limit: batchSize)
            guard let last = page.last else { break }
            #expect(page.count <= batchSize)
            exported += page.map(\.id)
            cursor = last.id
        }
        var eventCursor: EventID?
        var events = 0
        while true {
            let batch = try await log.exportBatch(after: eventCursor, limit: batchSize)
            guard let last = batch.lastEventID else { break }
            #expect(batch.orders.isEmpty)
            events += batch.events.count
            eventCursor = last
        }
        let all = try await log.orders(matching: OrderQuery(limit: 100)).map(\.cursor)
        #expect(events == 8)
        #expect(all.count == 5)
        #expect(exported == all.sorted())
        #expect(try await log.exportCounts().orders == all.count)
    }

    // MARK: - Several processes (PostgreSQL)

    /// Runs `body` with two logs on one new database (two pools, as two
    /// processes have) and the database's URL.
    static func withTwoProcesses(_ body: (PostgresEventLog, PostgresEventLog, String) async throws -> Void) async throws {
        let database = try await TestPostgres.createDatabase(prefix: "cb_orders")
        var logger = Logger(label: "order-ledger-tests")
        logger.logLevel = .critical
        do {
            let url = try PostgresURL(parsing: database)
            let first = try await PostgresEventLog.connect(url: url, logger: logger)
            let second = try await PostgresEventLog.connect(url: url, logger: logger)
            do {
                try await body(first, second, database)
            } catch {
                await first.close()
                await second.close()
                throw error
            }
            await first.close()
            await second.close()
        } catch {
            await TestPostgres.dropDatabase(url: database)
            throw error
        }
        await TestPostgres.dropDatabase(url: database)
    }

    @Test(.enabled(if: TestPostgres.isAvailable, "needs CALLBRIDGE_TEST_POSTGRES_URL"))
    func twoProcessesAppendingOneOrderNumberItsStoryWithoutGapsOrDuplicates() async throws {
        try await Self.withTwoProcesses { first, second, _ in
            // The provider sends each event to both processes (same dedup
            // keys, ids of their own); each process also gets events only it sees.
            let shared = 40
            func records(_ process: Int) -> [IngestRecord] {
                (0..<shared).map { i in
                    Self.record(i % 3 == 0 ? .paymentPending : .paymentSucceeded, dedupKey: "evt_\(i)", targets: [Self.ship],
                                millis: Self.base + Int64(i))
                } + (0..<15).map { i in Self.record(.paymentSucceeded, targets: [Self.ship], millis: Self.base + 100 + Int64(i)) }
            }
            let outcomes = try await withThrowingTaskGroup(of: AppendOutcome.self) { group in
                for (log, process) in [(first, 0), (second, 1)] {
                    for record in records(process) { group.addTask { try await log.append(record) } }
                }
                return try await group.reduce(into: [AppendOutcome]()) { $0.append($1) }
            }
            let total = shared + 30
            let stored = outcomes.filter { $0.isStored }
            #expect(stored.count == total)
            #expect(outcomes.count - stored.count == shared)
            #expect(stored.compactMap(\.order?.sequence).sorted() == Array(1...Int64(total)))
            #expect(try await first.order(provider: "juspay", orderID: "ord_1")?.counts.events == Int64(total))

            // The stored envelopes say what the appends returned; one chain, one head.
            let story = try await second.orderStory(provider: "juspay", orderID: "ord_1")
            #expect(story.compactMap { $0.event.data.order?.sequence } == Array(1...Int64(total)))
            let deliveries = story.flatMap(\.deliveries)
            #expect(deliveries.count == total)
            #expect(deliveries.filter { $0.nextAttemptAt != nil }.count == 1)
        }
    }

    @Test(.enabled(if: TestPostgres.isAvailable, "needs CALLBRIDGE_TEST_POSTGRES_URL"))
    func aChainFedByOneProcessAndDrainedByAnotherGoesOutInSequenceAndNeverStalls() async throws {
        try await Self.withTwoProcesses { ingest, dispatcher, _ in
            let total = 60
            let appendsDone = Flag()
            async let appended = Self.appendConcurrently(total, to: ingest, then: appendsDone)

            var delivered: [EventID] = []
            while true {
                let finished = appendsDone.isSet
                let now = SystemClock.now()
                let leased = try await Self.leaseAll(dispatcher, "ship", at: now, owner: "dispatcher")
                // One chain: never more than one delivery out at a time.
                #expect(leased.count <= 1)
                if let head = leased.first {
                    delivered.append(head.eventID)
                    try await Self.finish(dispatcher, head, .succeeded, at: now)
                } else if finished {
                    break  // nothing due, nothing in flight, nothing more coming
                } else {
                    try await Task.sleep(for: .milliseconds(2))
                }
            }
            let sequences = try await appended

            // Every delivery went out (none left parked without a head), in commit order.
            #expect(delivered.count == total)
            #expect(delivered.map { sequences[$0] ?? 0 } == Array(1...Int64(total)))
        }
    }

    /// The race the order row lock closes: an ingest holding the order's row
    /// has seen the chain's head in flight and parked a delivery behind it,
    /// not committed yet, while the head's completion looks for a successor.
    /// The completion must wait for that ingest (and then release what it
    /// parked); had it looked without the lock, the parked delivery would
    /// have no head, ever. The interleaving is forced, not hoped for: the
    /// ingest's transaction commits only once the completion has finished or
    /// is seen waiting for a lock.
    @Test(.enabled(if: TestPostgres.isAvailable, "needs CALLBRIDGE_TEST_POSTGRES_URL"))
    func aCompletionWaitsForAnIngestHoldingTheOrderAndReleasesWhatItParked() async throws {
        try await Self.withTwoProcesses { ingest, dispatcher, database in
            let head = Self.record(.paymentPending, targets: [Self.ship], millis: Self.base)
            let next = Self.record(.paymentSucceeded, millis: Self.base + 1)
            _ = try await ingest.append(head)
            let sequence = try #require(try await ingest.append(next).order?.sequence)
            let now = SystemClock.now()
            let leased = try #require(try await Self.leaseAll(dispatcher, "ship", at: now).first)
            let orderRef = try #require(try await TestPostgres.query(url: database, "SELECT order_ref::text FROM deliveries WHERE id = \(leased.id)")
                .first.flatMap { $0 }.flatMap { Int64($0) })

            // The other process's ingest, half way: order row locked, delivery parked, not committed.
            let (parked, parkedSignal) = AsyncStream<Void>.makeStream()
            let (gate, openGate) = AsyncStream<Void>.makeStream()
            let nowMS = now.millisecondsSinceEpoch
            let ingestTransaction = Task {
                try await ingest.client.withTransaction(logger: ingest.logger) { connection in
                    for try await _ in try await connection.query("SELECT 1 FROM orders WHERE id = \(orderRef) FOR UPDATE", logger: ingest.logger) {}
                    try await connection.query("""
                        INSERT INTO deliveries (event_id, endpoint, state, attempt_count, next_attempt_at_ms, created_at_ms, updated_at_ms,
                                                order_ref, order_seq)
                        VALUES (\(next.event.id.rawValue), 'ship', 'pending', 0, NULL, \(nowMS), \(nowMS), \(orderRef), \(sequence))
                        """, logger: ingest.logger)
                    parkedSignal.yield()
                    for await _ in gate { break }
                }
            }
            for await _ in parked { break }

            let completed = Flag()
            let completion = Task {
                defer { completed.set() }
                try await Self.finish(dispatcher, leased, .succeeded, at: now)
            }
            while !completed.isSet {
                let waiting = try await TestPostgres.query(url: database, """
                    SELECT count(*)::text FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
                    """)
                if waiting.first.flatMap({ $0 }).flatMap({ Int($0) }) ?? 0 > 0 { break }
                try await Task.sleep(for: .milliseconds(1))
            }
            openGate.yield()
            openGate.finish()
            try await ingestTransaction.value
            try await completion.value

            let successor = try #require(try await ingest.deliveries(forEvent: next.event.id).first)
            #expect(successor.nextAttemptAt == now, "the delivery parked behind the head was never released")
            #expect(try await Self.leaseAll(dispatcher, "ship", at: now).map(\.eventID) == [next.event.id])
        }
    }

    /// Appends `total` events of one order with a per-order target, from four
    /// concurrent callers; sets `done` when all are stored (or one failed). Returns each
    /// event's sequence.
    static func appendConcurrently(_ total: Int, to log: PostgresEventLog, then done: Flag) async throws -> [EventID: Int64] {
        defer { done.set() }  // also when an append fails, so the drain stops
        return try await withThrowingTaskGroup(of: [(EventID, Int64)].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var mine: [(EventID, Int64)] = []
                    for i in 0..<(total / 4) {
                        let record = Self.record(.paymentSucceeded, targets: [Self.ship], millis: Self.base + Int64(worker * 100 + i))
                        let outcome = try await log.append(record)
                        mine.append((record.event.id, outcome.order?.sequence ?? 0))
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [EventID: Int64]()) { map, pairs in
                for (id, sequence) in pairs { map[id] = sequence }
            }
        }
    }
}

/// A flag one task sets and another reads.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
