import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Logging
import Testing

@testable import CallbridgeStore
@testable import CallbridgeStoreSQLite
@testable import CallbridgeStorePostgres

/// The `EventLog` implementations the conformance tests run against: every
/// test taking a `LogBackend` argument runs once on a fresh SQLite file and
/// once on a fresh PostgreSQL database (when scripts/test.sh started one).
enum LogBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// SQLite always; PostgreSQL when `CALLBRIDGE_TEST_POSTGRES_URL` is set.
    static let available: [LogBackend] = TestPostgres.isAvailable ? [.sqlite, .postgres] : [.sqlite]

    var testDescription: String { rawValue }

    /// Runs `body` on a new, empty log of this kind (stamping appends with
    /// `clock`), then closes and deletes it.
    func withLog(clock: @escaping @Sendable () -> Timestamp = SystemClock.now, _ body: (any EventLog) async throws -> Void) async throws {
        let storage = try await LogStorage.make(self)
        let log = try await storage.open(clock: clock)
        do {
            try await body(log)
        } catch {
            await log.close()
            await storage.destroy()
            throw error
        }
        await log.close()
        await storage.destroy()
    }
}

/// Where one test's log lives (a temporary file or database), so it can be
/// opened again (durability) and removed at the end.
struct LogStorage: Sendable {
    let backend: LogBackend
    /// The SQLite file path or the PostgreSQL URL.
    let location: String

    static func make(_ backend: LogBackend) async throws -> LogStorage {
        switch backend {
        case .sqlite:
            let dir = try TemporaryDirectory()
            return LogStorage(backend: backend, location: dir.path("nested/log.sqlite"))
        case .postgres:
            return LogStorage(backend: backend, location: try await TestPostgres.createDatabase(prefix: "cb_store"))
        }
    }

    /// Opens (creating and migrating when needed) the log read-write.
    func open(clock: @escaping @Sendable () -> Timestamp = SystemClock.now) async throws -> any EventLog {
        switch backend {
        case .sqlite: return try SQLiteEventLog(path: location, clock: clock)
        case .postgres:
            var logger = Logger(label: "store-tests")
            logger.logLevel = .error
            return try await PostgresEventLog.connect(url: try PostgresURL(parsing: location), logger: logger, clock: clock)
        }
    }

    func destroy() async {
        switch backend {
        case .sqlite:
            try? FileManager.default.removeItem(at: URL(fileURLWithPath: location).deletingLastPathComponent().deletingLastPathComponent())
        case .postgres:
            await TestPostgres.dropDatabase(url: location)
        }
    }
}

/// Implementation details the group-commit tests look at, for either log.
enum GroupCommitProbe {
    /// Writes `records` as one batch, the path a drain of the append queue takes.
    static func writeBatch(_ log: any EventLog, _ records: [IngestRecord]) async throws -> [Result<AppendOutcome, any Error>] {
        switch log {
        case let log as SQLiteEventLog: return try await log.writeBatch(records)
        case let log as PostgresEventLog: return try await log.writeBatch(records)
        default: throw ProbeError.unknownLog
        }
    }

    static func commitCount(_ log: any EventLog) -> Int {
        (log as? SQLiteEventLog)?.commitCount ?? (log as? PostgresEventLog)?.commitCount ?? -1
    }

    static func appendedCount(_ log: any EventLog) -> Int {
        (log as? SQLiteEventLog)?.appendedCount ?? (log as? PostgresEventLog)?.appendedCount ?? -1
    }

    enum ProbeError: Error { case unknownLog }
}

/// The run demands PostgreSQL (scripts/test.sh) and it is missing: fail
/// loudly rather than let the PostgreSQL half of the suite skip in silence.
@Suite struct PostgresAvailabilityTests {
    @Test func postgresIsConfiguredWhenTheRunRequiresIt() {
        #expect(!TestPostgres.missingButRequired, "CALLBRIDGE_REQUIRE_POSTGRES=1 but CALLBRIDGE_TEST_POSTGRES_URL is not set: run bash scripts/test.sh")
    }
}

extension EventLog {
    /// Every stored event, newest first (pages through the whole log).
    func allEvents(provider: String? = nil, type: EventType? = nil) async throws -> [Event] {
        var result: [Event] = []
        var cursor: EventID?
        while true {
            let page = try await events(matching: EventQuery(provider: provider, type: type, before: cursor, limit: 100))
            result += page
            guard let last = page.last, page.count == 100 else { return result }
            cursor = last.id
        }
    }
}
