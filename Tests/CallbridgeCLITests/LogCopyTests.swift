import CallbridgeModel
import CallbridgeStore
import CallbridgeStoreSQLite
import CallbridgeStorePostgres
import CallbridgeTestSupport
import Foundation
import Testing

/// `callbridge log copy --from sqlite:PATH --to postgres:URL`, run as the
/// real binary against the throw-away PostgreSQL server.
@Suite(.serialized, .enabled(if: TestPostgres.isAvailable)) struct LogCopyTests {
    @Test func copiesEveryRowKeepingIdsAndASecondRunChangesNothing() async throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let databaseURL = try await TestPostgres.createDatabase(prefix: "cb_logcopy")
        let url = try PostgresURL(parsing: databaseURL)
        let source = try await LogCopyFixture.build(path: dir + "/src.sqlite")
        let sourceLog = source.log
        let sourceCounts = try await sourceLog.exportCounts()
        #expect(sourceCounts == LogCopyCounts(events: 6, rawRequests: 6, deliveries: 6, attempts: 3, revisions: 1, orders: 5, endpointStates: 2))

        // `postgres:` + URL, in batches of 2 events (three transactions).
        let first = try runCallbridge(["log", "copy", "--from", "sqlite:src.sqlite", "--to", "postgres:" + databaseURL, "--batch-size", "2"],
                                      directory: dir)
        #expect(first.status == 0, "\(first.output)")
        let summary = "copied \(sourceCounts) from sqlite:src.sqlite to \(url)"
        #expect(first.output.contains(summary), "\(first.output)")

        // Again, with a bare postgres:// URL: succeeds, writes nothing.
        let targetAfterFirst = try await LogCopyFixture.tableDigests(databaseURL)
        let second = try runCallbridge(["log", "copy", "--from", "sqlite:src.sqlite", "--to", databaseURL], directory: dir)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains(summary), "\(second.output)")
        #expect(try await LogCopyFixture.tableDigests(databaseURL) == targetAfterFirst)

        let target = try await PostgresEventLog.connect(url: url)
        do {
            try await expectSameContent(source: source, target: target, databaseURL: databaseURL)
            #expect(try await target.importCounts() == sourceCounts)

            // Dedup keys still dedup on the target.
            let again = LogCopyFixture.record(dedupKey: "pay_1", endpoints: ["orders"], millis: LogCopyFixture.now())
            #expect(try await target.append(again) == .duplicate(of: source.succeededEvent))

            // New rows get ids after every copied one.
            let fresh = LogCopyFixture.record(dedupKey: "pay_new", endpoints: ["orders"], millis: LogCopyFixture.now())
            let freshOutcome = try await target.append(fresh)
            #expect(freshOutcome.eventID == fresh.event.id)
            #expect(freshOutcome.isStored)
            #expect(freshOutcome.order?.sequence == 1)
            let maxOrder = try #require(try await sourceLog.orders(matching: OrderQuery(limit: 100)).map(\.cursor).max())
            #expect(try #require(try await target.orders(matching: OrderQuery(limit: 1)).first).cursor > maxOrder)
            let maxDelivery = try #require(source.deliveryIDs.max())
            let newDelivery = try #require(try await target.deliveries(forEvent: fresh.event.id).first)
            #expect(newDelivery.id > maxDelivery)
            let leased = try await target.leaseDue(owner: "test", now: Timestamp(millisecondsSinceEpoch: LogCopyFixture.now() + 1000),
                                                   leaseDuration: .seconds(60), capacity: ["orders": 100])
            let lease = try #require(leased.first { $0.id == newDelivery.id })
            try await target.complete(lease, attempt: AttemptRecord(number: 1, startedAt: Timestamp(millisecondsSinceEpoch: LogCopyFixture.now()),
                                                                    durationMilliseconds: 3, statusCode: 200, error: nil, responseSnippet: []),
                                      resolution: .succeeded, now: Timestamp(millisecondsSinceEpoch: LogCopyFixture.now()))
            let newAttempt = try await TestPostgres.query(url: databaseURL, "SELECT id::text FROM attempts WHERE delivery_id = \(newDelivery.id)")
            let attemptID = try #require(newAttempt.first.flatMap { $0 }.flatMap { Int64($0) })
            #expect(attemptID > (source.attemptIDs.max() ?? 0))

            // The copied ledger goes on where the source stopped: the next
            // event of the chained order is placed third, parked behind the
            // copied in-flight delivery.
            var next = LogCopyFixture.record(dedupKey: "pay_7", endpoints: [], millis: LogCopyFixture.now())
            next.event.data.orderID = source.chainedOrder
            next.targets = [DeliveryTarget(endpoint: "orders", perOrder: true)]
            let placed = try await target.append(next)
            #expect(placed.order?.sequence == 3)
            #expect(try await target.deliveries(forEvent: next.event.id).map(\.nextAttemptAt) == [nil])
            await target.close()
        } catch {
            await target.close()
            throw error
        }

        // Now the target holds an event the source lacks: refused. (The URL as a
        // ${ENV} reference, the form that keeps a password out of the process list.)
        var environment = providerSecrets
        environment["CB_TARGET_DATABASE_URL"] = databaseURL
        let third = try runCallbridge(["log", "copy", "--from", "sqlite:src.sqlite", "--to", "postgres:${CB_TARGET_DATABASE_URL}"],
                                      environment: environment, directory: dir)
        #expect(third.status != 0)
        #expect(third.output.contains("is not empty"), "\(third.output)")
        await TestPostgres.dropDatabase(url: databaseURL)
    }

    /// A log whose ledger holds registered orders and no event yet (the
    /// merchant registered, no buyer paid) still copies them, in pages.
    @Test func copiesOrdersOfALogWithoutEvents() async throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let databaseURL = try await TestPostgres.createDatabase(prefix: "cb_logcopy")
        let source = try SQLiteEventLog(path: dir + "/src.sqlite")
        for i in 0..<5 {
            _ = try await source.registerOrder(provider: "juspay", orderID: "ord_\(i)", amount: DecimalAmount("100.00")!,
                                               currency: CurrencyCode("USD")!, now: Timestamp(millisecondsSinceEpoch: LogCopyFixture.now()))
        }
        let result = try runCallbridge(["log", "copy", "--from", "sqlite:src.sqlite", "--to", databaseURL, "--batch-size", "2"], directory: dir)
        #expect(result.status == 0, "\(result.output)")
        #expect(try await TestPostgres.query(url: databaseURL, "SELECT string_agg(order_id, ',' ORDER BY id) FROM orders") == ["ord_0,ord_1,ord_2,ord_3,ord_4"])
        await TestPostgres.dropDatabase(url: databaseURL)
    }

    @Test func refusesATargetHoldingAnotherLogsEvents() async throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let databaseURL = try await TestPostgres.createDatabase(prefix: "cb_logcopy")
        let url = try PostgresURL(parsing: databaseURL)
        let source = try SQLiteEventLog(path: dir + "/src.sqlite")
        _ = try await source.append(LogCopyFixture.record(dedupKey: "a", endpoints: ["orders"], millis: LogCopyFixture.now()))

        let target = try await PostgresEventLog.connect(url: url)
        let foreign = LogCopyFixture.record(dedupKey: "b", endpoints: ["orders"], millis: LogCopyFixture.now())
        _ = try await target.append(foreign)
        await target.close()

        let result = try runCallbridge(["log", "copy", "--from", "sqlite:src.sqlite", "--to", "postgres:" + databaseURL], directory: dir)
        #expect(result.status != 0)
        #expect(result.output.contains("is not empty"), "\(result.output)")
        #expect(result.output.contains(foreign.event.id.rawValue), "\(result.output)")
        #expect(try await TestPostgres.query(url: databaseURL, "SELECT count(*)::text FROM events") == ["1"])
        await TestPostgres.dropDatabase(url: databaseURL)
    }

    @Test func refusesToLeaveBehindRowsTheSourceChangedSinceAnEarlierCopy() async throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let databaseURL = try await TestPostgres.createDatabase(prefix: "cb_logcopy")
        let source = try await LogCopyFixture.build(path: dir + "/src.sqlite")
        let first = try runCallbridge(["log", "copy", "--from", "sqlite:src.sqlite", "--to", databaseURL], directory: dir)
        #expect(first.status == 0, "\(first.output)")

        // The in-flight delivery goes back to pending: same counts, one row changed.
        #expect(try await source.log.releaseLeases(owner: "worker-1", now: Timestamp(millisecondsSinceEpoch: LogCopyFixture.now() + 5)) == 1)
        let again = try runCallbridge(["log", "copy", "--from", "sqlite:src.sqlite", "--to", databaseURL], directory: dir)
        #expect(again.status != 0)
        #expect(again.output.contains("deliveries: 6 in the source, 5 in the target as in the source"), "\(again.output)")
        await TestPostgres.dropDatabase(url: databaseURL)
    }

    /// Every row of the source reads back equal from the target, through the
    /// public API, and column for column through SQL.
    private func expectSameContent(source: LogCopyFixture, target: PostgresEventLog, databaseURL: String) async throws {
        let log = source.log
        let all = try await log.exportBatch(after: nil, limit: 1000)
        #expect(all.events.count == 6)
        #expect(all.orders.isEmpty)
        #expect(try await log.exportOrders(after: nil, limit: 1000).count == 5)
        for event in all.events {
            let stored = try await log.event(id: event.id)
            #expect(stored != nil)
            #expect(try await target.event(id: event.id) == stored)
            let deliveries = try await log.deliveries(forEvent: event.id)
            #expect(try await target.deliveries(forEvent: event.id) == deliveries)
            for delivery in deliveries {
                #expect(try await target.attempts(forDelivery: delivery.id) == (try await log.attempts(forDelivery: delivery.id)))
            }
            #expect(try await target.revisions(of: event.id) == (try await log.revisions(of: event.id)))
        }
        #expect(try await target.disabledEndpoints() == (try await log.disabledEndpoints()))

        // The ledger: entries, listings (cursors are the copied ids) and stories.
        let orders = try await log.orders(matching: OrderQuery(limit: 100))
        #expect(try await target.orders(matching: OrderQuery(limit: 100)) == orders)
        for listing in orders {
            let entry = listing.entry
            #expect(try await target.order(provider: entry.provider, orderID: entry.orderID) == entry)
            #expect(try await target.orderStory(provider: entry.provider, orderID: entry.orderID)
                    == (try await log.orderStory(provider: entry.provider, orderID: entry.orderID)))
        }
        #expect(all.deliveries.contains { $0.orderRef != nil && $0.orderSeq == 2 && $0.nextAttemptAtMilliseconds == nil })
        #expect(try await target.disabledEndpoints() == ["ledger": "410 Gone"])

        // The replayed delivery still points at its replacement.
        let replayed = try await target.deliveries(forEvent: source.succeededEvent)
        #expect(replayed.contains { $0.state == .dead && $0.supersededBy != nil })

        // Every column, including those no read API returns (leases, updated_at).
        let states = try await log.exportEndpointStates()
        var everything = all
        everything.orders = try await log.exportOrders(after: nil, limit: 1000)
        #expect(try await LogCopyFixture.tableDigests(databaseURL) == LogCopyFixture.digests(of: everything, states: states))
        let leased = try #require(all.deliveries.first { $0.state == .inFlight })
        #expect(leased.leaseOwner == "worker-1" && leased.leaseExpiresAtMilliseconds != nil)
        #expect(all.rawRequests.contains { $0.body.isEmpty && $0.remoteAddress == nil })
        #expect(all.attempts.contains { $0.statusCode == nil && $0.responseSnippet == nil })
    }
}

/// Refusals that need no PostgreSQL server. (The run that requires
/// PostgreSQL but lacks it fails in PostgresAvailabilityTests, CallbridgeStoreTests.)
@Suite struct LogCopyArgumentTests {
    @Test func refusesABadSourceOrTargetOrAMissingFile() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let target = "postgres:postgres://callbridge@127.0.0.1:1/none"

        let notSQLite = try runCallbridge(["log", "copy", "--from", "data/callbridge.sqlite", "--to", target], directory: dir)
        #expect(notSQLite.status != 0)
        #expect(notSQLite.output.contains("--from must be a SQLite log"), "\(notSQLite.output)")

        let fromPostgres = try runCallbridge(["log", "copy", "--from", "postgres://callbridge@127.0.0.1/db", "--to", target], directory: dir)
        #expect(fromPostgres.status != 0)
        #expect(fromPostgres.output.contains("--from must be a SQLite log"), "\(fromPostgres.output)")

        let notPostgres = try runCallbridge(["log", "copy", "--from", "sqlite:a.sqlite", "--to", "sqlite:b.sqlite"], directory: dir)
        #expect(notPostgres.status != 0)
        #expect(notPostgres.output.contains("--to must be a PostgreSQL log"), "\(notPostgres.output)")

        let unset = try runCallbridge(["log", "copy", "--from", "sqlite:a.sqlite", "--to", "postgres:${CB_UNSET_DATABASE_URL}"], directory: dir)
        #expect(unset.status != 0)
        #expect(unset.output.contains("${CB_UNSET_DATABASE_URL} is not set"), "\(unset.output)")

        let badURL = try runCallbridge(["log", "copy", "--from", "sqlite:a.sqlite", "--to", "postgres:postgres://127.0.0.1/db"], directory: dir)
        #expect(badURL.status != 0)
        #expect(badURL.output.contains("names no user"), "\(badURL.output)")

        // The file is checked before any connection is tried.
        let missing = try runCallbridge(["log", "copy", "--from", "sqlite:nowhere/log.sqlite", "--to", target], directory: dir)
        #expect(missing.status != 0)
        #expect(missing.output.contains("no event log database at nowhere/log.sqlite"), "\(missing.output)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/nowhere/log.sqlite"))
    }
}

/// A SQLite log with one of everything a copy must carry.
struct LogCopyFixture {
    let log: SQLiteEventLog
    /// `pay_1`: succeeded to orders; dead to ledger, then replayed (superseded).
    let succeededEvent: EventID
    /// The order of `pay_5` (in flight) and `pay_6` (parked behind it), per-order deliveries.
    let chainedOrder: String
    let deliveryIDs: [Int64]
    let attemptIDs: [Int64]

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func build(path: String) async throws -> LogCopyFixture {
        let log = try SQLiteEventLog(path: path)
        var millis = now() - 10_000
        func next() -> Int64 {
            millis += 1
            return millis
        }
        func leaseAll(_ endpoint: String, owner: String = "worker-1") async throws -> [LeasedDelivery] {
            try await log.leaseDue(owner: owner, now: Timestamp(millisecondsSinceEpoch: now() + 1000), leaseDuration: .seconds(300),
                                   capacity: [endpoint: 100])
        }
        func attempt(_ status: Int?, _ error: String?, _ snippet: String) -> AttemptRecord {
            AttemptRecord(number: 1, startedAt: Timestamp(millisecondsSinceEpoch: now()), durationMilliseconds: 42, statusCode: status,
                          error: error, responseSnippet: Array(snippet.utf8))
        }
        let farFuture = Timestamp(millisecondsSinceEpoch: now() + 3_600_000)

        // 1: succeeded to orders; dead (no status, no snippet) to ledger, then replayed.
        let paid = record(dedupKey: "pay_1", endpoints: ["orders", "ledger"], millis: next())
        _ = try await log.append(paid)
        for lease in try await leaseAll("orders") {
            try await log.complete(lease, attempt: attempt(200, nil, "ok"), resolution: .succeeded, now: Timestamp(millisecondsSinceEpoch: now()))
        }
        let deadLease = try #require(try await leaseAll("ledger").first)
        try await log.complete(deadLease, attempt: attempt(nil, "connection refused", ""), resolution: .dead, now: Timestamp(millisecondsSinceEpoch: now()))
        try await log.scheduleReplay([ReplayPlan(eventID: paid.event.id, endpoints: ["ledger"], supersedes: ["ledger": deadLease.id])],
                                     now: farFuture)

        // 2: a failed attempt, pending its retry.
        let retrying = record(dedupKey: "pay_2", endpoints: ["orders"], millis: next())
        _ = try await log.append(retrying)
        for lease in try await leaseAll("orders") {
            try await log.complete(lease, attempt: attempt(503, "HTTP 503", "busy, try later"), resolution: .retry(at: farFuture),
                                   now: Timestamp(millisecondsSinceEpoch: now()))
        }

        // 3: unverified, then revised (re-normalized) into its confirmed form.
        var unverified = record(dedupKey: nil, endpoints: [], millis: next(), type: .paymentPending, verified: false)
        _ = try await log.append(unverified)
        unverified.event.type = .paymentSucceeded
        unverified.event.data.verified = true
        unverified.event.data.verification = .confirmedByAPI
        #expect(try await log.revise(unverified.event, now: Timestamp(millisecondsSinceEpoch: now())) != nil)

        // 4: a browser return with no body, no address, no order id.
        var empty = record(dedupKey: nil, endpoints: [], millis: next(), type: .paymentCancelled)
        empty.raw.body = []
        empty.raw.remoteAddress = nil
        empty.raw.method = "GET"
        empty.event.data.orderID = nil
        _ = try await log.append(empty)

        // 5: leased and not finished: in flight, with a lease, at the head of its order's chain.
        let perOrder = [DeliveryTarget(endpoint: "orders", perOrder: true)]
        var inFlight = record(dedupKey: "pay_5", endpoints: [], millis: next())
        inFlight.targets = perOrder
        _ = try await log.append(inFlight)
        #expect(try await leaseAll("orders").count == 1)

        // 6: the same order's next event: its delivery is parked behind 5's.
        var parked = record(dedupKey: "pay_6", endpoints: [], millis: next(), type: .refundPending)
        parked.event.data.orderID = inFlight.event.data.orderID
        parked.targets = perOrder
        #expect(try await log.append(parked).order?.sequence == 2)

        // An order registered before any of its events arrived.
        _ = try await log.registerOrder(provider: "juspay", orderID: "ord_registered", amount: DecimalAmount("250.00")!,
                                        currency: CurrencyCode("INR")!, now: Timestamp(millisecondsSinceEpoch: now()))

        try await log.setEndpoint("ledger", disabled: true, reason: "410 Gone", now: Timestamp(millisecondsSinceEpoch: now()))
        try await log.setEndpoint("orders", disabled: false, reason: nil, now: Timestamp(millisecondsSinceEpoch: now()))

        let all = try await log.exportBatch(after: nil, limit: 1000)
        return LogCopyFixture(log: log, succeededEvent: paid.event.id, chainedOrder: try #require(inFlight.event.data.orderID),
                              deliveryIDs: all.deliveries.map(\.id), attemptIDs: all.attempts.map(\.id))
    }

    static func record(dedupKey: String?, endpoints: [String], millis: Int64, type: EventType = .paymentSucceeded,
                       verified: Bool = true) -> IngestRecord {
        let received = Timestamp(millisecondsSinceEpoch: millis)
        let data = EventData(
            provider: "juspay", route: "webhook", channel: .callback, verified: verified, verification: verified ? .basicAuth : .none,
            orderID: "ord_\(millis)", transactionID: "txn_\(millis)", providerEventID: dedupKey, providerStatus: "CHARGED",
            amount: DecimalAmount("100.00"), currency: CurrencyCode("INR"), customer: "c@example.com",
            merchantData: .object([("n", .number("1.50"))]), occurredAt: Timestamp(millisecondsSinceEpoch: millis - 2000), receivedAt: received)
        let event = Event(id: EventID.generate(millisecondsSinceEpoch: UInt64(millis)), type: type, timestamp: received, data: data)
        let raw = RawRequest(
            method: "POST", path: "/hooks/juspay", query: "a=1&b=%20x",
            headers: [HeaderField(name: "Content-Type", value: "application/json"), HeaderField(name: "x-multi", value: "two \"quoted\" ü")],
            body: Array(#"{"id":"\#(dedupKey ?? "none")"}"#.utf8) + [0x00, 0xFF], remoteAddress: "203.0.113.7", receivedAt: received)
        return IngestRecord(event: event, raw: raw, dedupKey: dedupKey, endpoints: endpoints)
    }

    /// Each table of a PostgreSQL log as text, one line per row, every column.
    static func tableDigests(_ databaseURL: String) async throws -> [String] {
        var digests: [String] = []
        for sql in digestQueries {
            digests.append(try await TestPostgres.query(url: databaseURL, sql).first.flatMap { $0 } ?? "")
        }
        return digests
    }

    /// The same text as `tableDigests`, from exported rows.
    static func digests(of batch: LogCopyBatch, states: [LogCopyEndpointState]) -> [String] {
        func text(_ value: Any?) -> String {
            guard let value else { return "∅" }
            if let bytes = value as? [UInt8] { return "\\x" + bytes.map { String(format: "%02x", $0) }.joined() }
            return "\(value)"
        }
        func lines(_ rows: [[Any?]]) -> String { rows.map { $0.map(text).joined(separator: "|") }.joined(separator: "\n") }
        return [
            lines(batch.events.map { [$0.id.rawValue, $0.type, $0.provider, $0.route, $0.channel, $0.verified, $0.orderID,
                                      $0.receivedAtMilliseconds, $0.dedupKey, $0.envelope, $0.revision] }),
            lines(batch.rawRequests.map { [$0.eventID.rawValue, $0.method, $0.path, $0.query, $0.headers, $0.body, $0.remoteAddress,
                                           $0.receivedAtMilliseconds] }),
            lines(batch.deliveries.map { [$0.id, $0.eventID.rawValue, $0.endpoint, $0.state.rawValue, $0.attemptCount,
                                          $0.nextAttemptAtMilliseconds, $0.leaseOwner, $0.leaseExpiresAtMilliseconds, $0.lastStatusCode,
                                          $0.lastError, $0.createdAtMilliseconds, $0.updatedAtMilliseconds, $0.supersededBy, $0.orderRef,
                                          $0.orderSeq] }),
            lines(batch.attempts.map { [$0.id, $0.deliveryID, $0.number, $0.startedAtMilliseconds, $0.durationMilliseconds, $0.statusCode,
                                        $0.error, $0.responseSnippet] }),
            lines(batch.revisions.map { [$0.eventID.rawValue, $0.revision, $0.type, $0.envelope, $0.replacedAtMilliseconds] }),
            lines(batch.orders.map { [$0.id, $0.provider, $0.orderID, $0.state, $0.amount, $0.currency, $0.expectedAmount, $0.expectedCurrency,
                                      $0.firstSeenMilliseconds, $0.lastSeenMilliseconds, $0.lastEventID, $0.eventCount, $0.mismatchCount,
                                      $0.ledger, $0.createdAtMilliseconds, $0.updatedAtMilliseconds] }),
            lines(states.map { [$0.name, $0.disabled, $0.reason, $0.updatedAtMilliseconds] }),
        ]
    }

    private static func digestQuery(_ table: String, _ columns: [String], orderBy: String) -> String {
        let cells = columns.map { "COALESCE(\($0)::text, '∅')" }.joined(separator: ", ")
        return "SELECT string_agg(concat_ws('|', \(cells)), E'\\n' ORDER BY \(orderBy)) FROM \(table)"
    }

    private static let digestQueries = [
        digestQuery("events", ["id", "type", "provider", "route", "channel", "verified", "order_id", "received_at_ms", "dedup_key", "envelope",
                               "revision"], orderBy: "id"),
        digestQuery("raw_requests", ["event_id", "method", "path", "query", "headers", "body", "remote_address", "received_at_ms"],
                    orderBy: "event_id"),
        digestQuery("deliveries", ["id", "event_id", "endpoint", "state", "attempt_count", "next_attempt_at_ms", "lease_owner",
                                   "lease_expires_at_ms", "last_status_code", "last_error", "created_at_ms", "updated_at_ms", "superseded_by",
                                   "order_ref", "order_seq"],
                    orderBy: "id"),
        digestQuery("attempts", ["id", "delivery_id", "number", "started_at_ms", "duration_ms", "status_code", "error", "response_snippet"],
                    orderBy: "id"),
        digestQuery("event_revisions", ["event_id", "revision", "type", "envelope", "replaced_at_ms"], orderBy: "event_id, revision"),
        digestQuery("orders", ["id", "provider", "order_id", "state", "amount", "currency", "expected_amount", "expected_currency",
                               "first_seen_ms", "last_seen_ms", "last_event_id", "event_count", "mismatch_count", "ledger", "created_at_ms",
                               "updated_at_ms"], orderBy: "id"),
        digestQuery("endpoint_states", ["name", "disabled", "reason", "updated_at_ms"], orderBy: "name"),
    ]
}

extension AppendOutcome {
    /// Stored, not a duplicate (its placement and deliveries are checked apart).
    var isStored: Bool {
        if case .stored = self { return true }
        return false
    }
}
