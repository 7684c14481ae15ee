import CallbridgeModel
import Foundation
import Testing

@testable import CallbridgeStore
@testable import CallbridgeStoreSQLite

/// The EventLog contract, on SQLite and PostgreSQL alike (tests taking a
/// `LogBackend`), and what only the SQLite file does (read-only opens, pragmas).
@Suite("EventLog")
struct EventLogTests {
    // MARK: - Round trip

    @Test(arguments: LogBackend.available) func appendedEventAndRawRequestReadBackWithEveryFieldIntact(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let record = Fixtures.record(dedupKey: "evt_V2_b737")

            let outcome = try await log.append(record)
            #expect(outcome.isStored(record.event.id))

            // Stored as appended, placed in its order's story (`data.order`).
            let stored = try #require(try await log.event(id: record.event.id))
            var placed = record.event
            let placement = try #require(outcome.order)
            placed.data.order = placement
            #expect(stored.event == placed)
            #expect(stored.event.envelopeBytes == placed.envelopeBytes)
            #expect(stored.raw == record.raw)
            #expect(stored.raw.body == record.raw.body)
            #expect(stored.raw.headers == record.raw.headers)
            #expect(stored.raw.query == "a=1&b=%20x&a=2")
            #expect(stored.dedupKey == "evt_V2_b737")
        }
    }

    @Test(arguments: LogBackend.available) func emptyBodyAndMissingRemoteAddressRoundTrip(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            var record = Fixtures.record(body: [])
            record.raw.remoteAddress = nil
            record.raw.headers = []
            record.raw.query = ""

            _ = try await log.append(record)

            let stored = try #require(try await log.event(id: record.event.id))
            #expect(stored.raw == record.raw)
        }
    }

    @Test(arguments: LogBackend.available) func unknownEventIDReadsAsNil(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            #expect(try await log.event(id: EventID.generate(millisecondsSinceEpoch: 1)) == nil)
        }
    }

    @Test(arguments: LogBackend.available) func appendCreatesOnePendingDeliveryPerEndpointDueNow(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let record = Fixtures.record(endpoints: ["orders", "ledger", "orders"])
            let before = SystemClock.now()

            _ = try await log.append(record)

            let after = SystemClock.now()
            let deliveries = try await log.deliveries(forEvent: record.event.id)
            #expect(deliveries.map(\.endpoint) == ["orders", "ledger"])
            for delivery in deliveries {
                #expect(delivery.eventID == record.event.id)
                #expect(delivery.state == .pending)
                #expect(delivery.attemptCount == 0)
                #expect(delivery.lastStatusCode == nil)
                #expect(delivery.lastError == nil)
                let due = try #require(delivery.nextAttemptAt)
                #expect(due >= before && due <= after)
                #expect(delivery.createdAt >= before && delivery.createdAt <= after)
            }
        }
    }

    @Test(arguments: LogBackend.available) func eventWithoutEndpointsHasNoDeliveries(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let record = Fixtures.record(endpoints: [])
            _ = try await log.append(record)
            #expect(try await log.deliveries(forEvent: record.event.id).isEmpty)
            #expect(try await log.event(id: record.event.id) != nil)
        }
    }

    @Test(arguments: LogBackend.available) func aNULInExtractedFieldsIsStoredAndDedupStillHolds(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            // A percent-decoded `%00` reaches order ids and dedup keys.
            var first = Fixtures.record(dedupKey: "key\u{0}1", endpoints: ["orders"])
            first.event.data.orderID = "ord\u{0}1"
            let second = Fixtures.record(dedupKey: "key\u{0}1", millis: Fixtures.baseMillis + 1)
            let batch = try await GroupCommitProbe.writeBatch(log, [first, second, Fixtures.record(dedupKey: "plain")])
            let outcomes = try batch.map { try $0.get() }
            #expect(outcomes[0].isStored(first.event.id))
            #expect(outcomes[1] == .duplicate(of: first.event.id))
            // The envelope keeps the exact value.
            #expect(try await log.event(id: first.event.id)?.event.data.orderID == "ord\u{0}1")
            #expect(try await log.append(Fixtures.record(dedupKey: "key\u{0}1", millis: Fixtures.baseMillis + 2)) == .duplicate(of: first.event.id))
        }
    }

    // MARK: - Dedup

    @Test(arguments: LogBackend.available) func sameProviderAndDedupKeyStoresOneEventAndReportsTheFirstID(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let first = Fixtures.record(dedupKey: "k1")
            let second = Fixtures.record(dedupKey: "k1", millis: Fixtures.baseMillis + 1)

            #expect(try await log.append(first).isStored(first.event.id))
            #expect(try await log.append(second) == .duplicate(of: first.event.id))

            #expect(try await log.allEvents().map(\.id) == [first.event.id])
            #expect(try await log.event(id: second.event.id) == nil)
            #expect(try await log.deliveries(forEvent: second.event.id).isEmpty)
            #expect(try await log.deliveries(forEvent: first.event.id).count == 1)
        }
    }

    @Test(arguments: LogBackend.available) func sameDedupKeyFromDifferentProvidersStoresTwoEvents(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let a = Fixtures.record(provider: "juspay", dedupKey: "k1")
            let b = Fixtures.record(provider: "nonstopay", dedupKey: "k1")

            #expect(try await log.append(a).isStored(a.event.id))
            #expect(try await log.append(b).isStored(b.event.id))
            #expect(try await log.allEvents().count == 2)
        }
    }

    @Test(arguments: LogBackend.available) func nilDedupKeysNeverCollide(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let records = (0..<3).map { _ in Fixtures.record(dedupKey: nil) }

            for record in records {
                #expect(try await log.append(record).isStored(record.event.id))
            }
            #expect(try await log.allEvents().count == 3)
        }
    }

    @Test(arguments: LogBackend.available) func duplicatesInsideOneBatchStoreOneEvent(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let records = (0..<5).map { i in Fixtures.record(dedupKey: "same", millis: Fixtures.baseMillis + Int64(i)) }

            let results = try await GroupCommitProbe.writeBatch(log, records)

            let outcomes = try results.map { try $0.get() }
            #expect(outcomes.first?.isStored(records[0].event.id) == true)
            #expect(outcomes.dropFirst().allSatisfy { $0 == .duplicate(of: records[0].event.id) })
            #expect(try await log.allEvents().count == 1)
            #expect(GroupCommitProbe.commitCount(log) == 1)
        }
    }

    @Test(arguments: LogBackend.available) func concurrentAppendsWithOneDedupKeyStoreOneEvent(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let records = (0..<50).map { i in Fixtures.record(dedupKey: "same", millis: Fixtures.baseMillis + Int64(i)) }

            let outcomes = try await withThrowingTaskGroup(of: AppendOutcome.self) { group in
                for record in records { group.addTask { try await log.append(record) } }
                return try await group.reduce(into: [AppendOutcome]()) { $0.append($1) }
            }

            let stored = try await log.allEvents()
            #expect(stored.count == 1)
            let winner = try #require(stored.first?.id)
            #expect(outcomes.filter { $0.isStored(winner) }.count == 1)
            #expect(outcomes.filter { $0 == .duplicate(of: winner) }.count == 49)
        }
    }

    // MARK: - Group commit

    @Test(arguments: LogBackend.available) func concurrentAppendsShareWriteTransactions(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let count = 200
            let records = (0..<count).map { i in
                Fixtures.record(dedupKey: "k\(i)", endpoints: ["a", "b"], millis: Fixtures.baseMillis + Int64(i))
            }

            let outcomes = try await withThrowingTaskGroup(of: AppendOutcome.self) { group in
                for record in records { group.addTask { try await log.append(record) } }
                return try await group.reduce(into: [AppendOutcome]()) { $0.append($1) }
            }

            #expect(outcomes.allSatisfy { $0.isStored })
            #expect(Set(outcomes.map(\.eventID)) == Set(records.map(\.event.id)))
            #expect(try await log.allEvents().count == count)
            #expect(GroupCommitProbe.appendedCount(log) == count)
            #expect(GroupCommitProbe.commitCount(log) >= 1)
            #expect(GroupCommitProbe.commitCount(log) < count)
        }
    }

    @Test(arguments: LogBackend.available) func failingRecordInABatchDoesNotLoseTheOthers(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let existing = Fixtures.record()
            _ = try await log.append(existing)
            // Same event id as a stored event: its INSERT violates the primary key.
            let clash = Fixtures.record(dedupKey: "fresh", id: existing.event.id)
            let a = Fixtures.record(dedupKey: "a", millis: Fixtures.baseMillis + 1)
            let c = Fixtures.record(dedupKey: "c", millis: Fixtures.baseMillis + 2)
            let commitsBefore = GroupCommitProbe.commitCount(log)

            let results = try await GroupCommitProbe.writeBatch(log, [a, clash, c])

            // SQLite isolates the record in a savepoint of the one transaction; PostgreSQL
            // retries each record of the failed batch in a transaction of its own.
            #expect(GroupCommitProbe.commitCount(log) == commitsBefore + (backend == .sqlite ? 1 : 2))
            #expect(try results[0].get().isStored(a.event.id))
            #expect(throws: (any Error).self) { try results[1].get() }
            #expect(try results[2].get().isStored(c.event.id))
            #expect(try await log.allEvents().map(\.id).sorted() == [existing.event.id, a.event.id, c.event.id].sorted())
            // The failed record left nothing behind: not its raw request, not its deliveries.
            let stored = try #require(try await log.event(id: existing.event.id))
            #expect(stored.raw == existing.raw)
            #expect(try await log.deliveries(forEvent: existing.event.id).count == 1)
            // And its dedup key was not taken.
            let retry = Fixtures.record(dedupKey: "fresh", millis: Fixtures.baseMillis + 3)
            #expect(try await log.append(retry).isStored(retry.event.id))
        }
    }

    @Test(arguments: LogBackend.available) func failingConcurrentAppendOnlyFailsItsOwnCaller(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let existing = Fixtures.record()
            _ = try await log.append(existing)
            var records = (0..<40).map { i in Fixtures.record(dedupKey: "k\(i)", millis: Fixtures.baseMillis + Int64(i) + 1) }
            records.insert(Fixtures.record(dedupKey: "clash", id: existing.event.id), at: 20)

            let results = await withTaskGroup(of: Result<AppendOutcome, any Error>.self) { group in
                for record in records {
                    group.addTask {
                        do { return .success(try await log.append(record)) } catch { return .failure(error) }
                    }
                }
                return await group.reduce(into: [Result<AppendOutcome, any Error>]()) { $0.append($1) }
            }

            let failures = results.filter { if case .failure = $0 { return true } else { return false } }
            #expect(failures.count == 1)
            #expect(try await log.allEvents().count == 41)
        }
    }

    // MARK: - Durability across reopen

    @Test func eventsSurviveDroppingAndReopeningTheLog() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.path("nested/dir/log.sqlite")
        let record = Fixtures.record(dedupKey: "k1")
        var placed = record.event
        do {
            let log = try SQLiteEventLog(path: path)
            placed.data.order = try await log.append(record).order
        }

        let reopened = try SQLiteEventLog(path: path)

        let stored = try #require(try await reopened.event(id: record.event.id))
        #expect(stored.event == placed)
        #expect(placed.data.order?.sequence == 1)
        #expect(try await reopened.deliveries(forEvent: record.event.id).count == 1)
        #expect(try await reopened.append(Fixtures.record(dedupKey: "k1", millis: Fixtures.baseMillis + 5)) == .duplicate(of: record.event.id))
    }

    @Test func synchronousIsFullByDefaultAndNormalWhenAsked() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let full = try SQLiteEventLog(path: dir.path("full.sqlite"))
        let normal = try SQLiteEventLog(path: dir.path("normal.sqlite"), synchronous: .normal)
        #expect(try await full.synchronousPragma() == 2)
        #expect(try await normal.synchronousPragma() == 1)
    }

    // MARK: - Listing

    @Test(arguments: LogBackend.available) func eventsMatchingFiltersByProviderAndTypeNewestFirst(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            let specs: [(String, EventType)] = [
                ("juspay", .paymentSucceeded), ("juspay", .paymentFailed), ("luxfin", .paymentSucceeded),
                ("juspay", .paymentSucceeded), ("luxfin", .refundSucceeded),
            ]
            var records: [IngestRecord] = []
            for (i, spec) in specs.enumerated() {
                let record = Fixtures.record(provider: spec.0, type: spec.1, millis: Fixtures.baseMillis + Int64(i) * 1000)
                records.append(record)
                _ = try await log.append(record)
            }
            func ids(_ indices: [Int]) -> [EventID] { indices.map { records[$0].event.id } }

            #expect(try await log.events(matching: EventQuery()).map(\.id) == ids([4, 3, 2, 1, 0]))
            #expect(try await log.events(matching: EventQuery(provider: "juspay")).map(\.id) == ids([3, 1, 0]))
            #expect(try await log.events(matching: EventQuery(type: .paymentSucceeded)).map(\.id) == ids([3, 2, 0]))
            #expect(try await log.events(matching: EventQuery(provider: "luxfin", type: .paymentSucceeded)).map(\.id) == ids([2]))
            #expect(try await log.events(matching: EventQuery(provider: "nobody")).isEmpty)
            #expect(try await log.events(matching: EventQuery(limit: 2)).map(\.id) == ids([4, 3]))
            #expect(try await log.events(matching: EventQuery(limit: 0)).isEmpty)
        }
    }

    @Test(arguments: LogBackend.available) func cursorPagesAreNewestFirstWithoutGapsOrOverlap(_ backend: LogBackend) async throws {
        try await backend.withLog { (log: any EventLog) async throws in
            var expected: [EventID] = []
            for i in 0..<23 {
                let record = Fixtures.record(provider: i % 3 == 0 ? "luxfin" : "juspay", millis: Fixtures.baseMillis + Int64(i))
                _ = try await log.append(record)
                if i % 3 != 0 { expected.append(record.event.id) }
            }
            expected.reverse()

            var pages: [[EventID]] = []
            var cursor: EventID?
            while true {
                let page = try await log.events(matching: EventQuery(provider: "juspay", before: cursor, limit: 4)).map(\.id)
                if page.isEmpty { break }
                pages.append(page)
                cursor = page.last
            }

            #expect(pages.map(\.count) == [4, 4, 4, 3])
            #expect(pages.flatMap { $0 } == expected)
        }
    }

    // MARK: - Read-only access

    @Test func readOnlyLogSeesEventsCommittedByAConcurrentWriter() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.path("log.sqlite")
        let writer = try SQLiteEventLog(path: path)
        let first = Fixtures.record(dedupKey: "k1")
        var placed = first.event
        placed.data.order = try await writer.append(first).order

        let reader = try SQLiteEventLog.openReadOnly(path: path)
        #expect(try await reader.event(id: first.event.id)?.event == placed)

        // Appends while the reader is open become visible to it.
        let later = (1...20).map { i in Fixtures.record(dedupKey: "k\(i + 1)", millis: Fixtures.baseMillis + Int64(i)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for record in later { group.addTask { _ = try await writer.append(record) } }
            group.addTask {
                for _ in 0..<20 { _ = try await reader.events(matching: EventQuery(limit: 5)) }
            }
            try await group.waitForAll()
        }
        #expect(try await reader.allEvents().count == 21)
        #expect(try await reader.deliveries(forEvent: later[0].event.id).count == 1)
    }

    @Test func readOnlyLogOpensAfterTheWriterClosed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.path("log.sqlite")
        let record = Fixtures.record()
        do {
            let writer = try SQLiteEventLog(path: path)
            _ = try await writer.append(record)
        }

        let reader = try SQLiteEventLog.openReadOnly(path: path)
        #expect(try await reader.event(id: record.event.id) != nil)
    }

    @Test func readOnlyLogRefusesToAppend() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.path("log.sqlite")
        _ = try SQLiteEventLog(path: path)
        let reader = try SQLiteEventLog.openReadOnly(path: path)

        await #expect(throws: SQLiteEventLogError.readOnly) { try await reader.append(Fixtures.record()) }
    }

    @Test func readOnlyOpenOfAMissingFileThrowsDatabaseNotFound() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.path("absent.sqlite")

        #expect(throws: SQLiteEventLogError.databaseNotFound(path: path)) { try SQLiteEventLog.openReadOnly(path: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func readOnlyOpenOfAFileThatIsNotALogThrowsSchemaNotMigrated() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let path = dir.path("other.sqlite")
        // An empty file is a valid, empty SQLite database.
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))

        #expect(throws: SQLiteEventLogError.schemaNotMigrated(path: path, missing: SQLiteSchema.migrator.migrations)) {
            try SQLiteEventLog.openReadOnly(path: path)
        }
    }
}
