import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@testable import CallbridgeStore
@testable import CallbridgeStoreSQLite
@testable import CallbridgeStorePostgres

/// What only the shared PostgreSQL log promises: several processes (here,
/// several pools on one database) migrate once, never lease one delivery
/// twice, and wake each other with NOTIFY.
@Suite(.enabled(if: TestPostgres.isAvailable, "needs CALLBRIDGE_TEST_POSTGRES_URL (scripts/test.sh starts a server)"))
struct PostgresEventLogTests {
    static func quietLogger() -> Logger {
        var logger = Logger(label: "postgres-tests")
        logger.logLevel = .critical
        return logger
    }

    func withDatabase(_ body: (PostgresURL) async throws -> Void) async throws {
        let url = try await TestPostgres.createDatabase(prefix: "cb_pg")
        do {
            try await body(try PostgresURL(parsing: url))
        } catch {
            await TestPostgres.dropDatabase(url: url)
            throw error
        }
        await TestPostgres.dropDatabase(url: url)
    }

    @Test func processesStartingTogetherMigrateOnce() async throws {
        try await withDatabase { url in
            let logs = try await withThrowingTaskGroup(of: PostgresEventLog.self) { group in
                for _ in 0..<6 { group.addTask { try await PostgresEventLog.connect(url: url, logger: Self.quietLogger()) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(logs.count == 6)
            let applied = try await TestPostgres.query(url: "\(url.descriptionWithoutOptions)", "SELECT id FROM callbridge_migrations ORDER BY id")
            #expect(applied == PostgresSchema.migrations.map(\.id))
            for log in logs { await log.close() }
        }
    }

    @Test func concurrentLeasersFromSeparatePoolsNeverShareADelivery() async throws {
        try await withDatabase { url in
            let writer = try await PostgresEventLog.connect(url: url, logger: Self.quietLogger())
            let count = 300
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<count {
                    group.addTask { _ = try await writer.append(Fixtures.record(dedupKey: "k\(i)", endpoints: ["orders"])) }
                }
                try await group.waitForAll()
            }
            let now = SystemClock.now()
            // Four "processes", each with its own pool, lease in small bites until nothing is left.
            let leasers = try await (0..<4).asyncMap { _ in try await PostgresEventLog.connect(url: url, logger: Self.quietLogger()) }
            let leased = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for (index, leaser) in leasers.enumerated() {
                    group.addTask {
                        var mine: [Int64] = []
                        while true {
                            let batch = try await leaser.leaseDue(owner: "p\(index)", now: now, leaseDuration: .seconds(60), capacity: ["orders": 7])
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: [[Int64]]()) { $0.append($1) }
            }
            let all = leased.flatMap { $0 }
            #expect(all.count == count)
            #expect(Set(all).count == count, "a delivery was leased twice")
            #expect(leased.filter { !$0.isEmpty }.count > 1, "the work was not shared")
            for log in leasers + [writer] { await log.close() }
        }
    }

    @Test func anotherProcessesCommitWakesAListener() async throws {
        try await withDatabase { url in
            let listener = try await PostgresEventLog.connect(url: url, logger: Self.quietLogger())
            let writer = try await PostgresEventLog.connect(url: url, logger: Self.quietLogger())
            let wakeups = Mutex(0)
            let watch = Task { await listener.watchDeliveries { wakeups.withLock { $0 += 1 } } }
            // The first call says "listening" (anything earlier may have been missed).
            #expect(await eventually(timeout: .seconds(10)) { wakeups.withLock { $0 } >= 1 })
            let before = wakeups.withLock { $0 }
            _ = try await writer.append(Fixtures.record(endpoints: []))  // no delivery: no notification
            _ = try await writer.append(Fixtures.record(endpoints: ["orders"]))
            #expect(await eventually(timeout: .seconds(10)) { wakeups.withLock { $0 } > before })
            watch.cancel()
            await watch.value
            await listener.close()
            await writer.close()
        }
    }

    @Test func eventsSurviveClosingAndReconnecting() async throws {
        try await withDatabase { url in
            let record = Fixtures.record(dedupKey: "k1")
            let first = try await PostgresEventLog.connect(url: url, logger: Self.quietLogger())
            var placed = record.event
            placed.data.order = try await first.append(record).order
            await first.close()
            let reopened = try await PostgresEventLog.connect(url: url, logger: Self.quietLogger(), migrate: false)
            #expect(try await reopened.event(id: record.event.id)?.event == placed)
            #expect(try await reopened.append(Fixtures.record(dedupKey: "k1")) == .duplicate(of: record.event.id))
            await reopened.close()
        }
    }

    @Test func aDatabaseWithoutTheSchemaIsRefusedWhenNotMigrating() async throws {
        try await withDatabase { url in
            await #expect(throws: PostgresEventLogError.schemaNotMigrated(url: url.description, missing: PostgresSchema.migrations.map(\.id))) {
                _ = try await PostgresEventLog.connect(url: url, logger: Self.quietLogger(), migrate: false)
            }
        }
    }

    @Test func anUnreachableServerIsAClearError() async throws {
        let url = try PostgresURL(parsing: "postgres://callbridge@127.0.0.1:1/nowhere?connect_timeout=2&sslmode=disable")
        do {
            _ = try await PostgresEventLog.connect(url: url, logger: Self.quietLogger())
            Issue.record("connected to a closed port")
        } catch let error as PostgresEventLogError {
            guard case .unavailable(let text) = error else { Issue.record("unexpected \(error)"); return }
            #expect(text.contains("127.0.0.1:1/nowhere"))
        }
    }
}

/// The CA file of the test server's self-signed certificate, if it serves TLS.
let testServerCAFile: String? = {
    guard TestPostgres.isAvailable, let path = ProcessInfo.processInfo.environment["CALLBRIDGE_TEST_POSTGRES_CA"],
          FileManager.default.fileExists(atPath: path) else { return nil }
    return path
}()

/// TLS is negotiated when the URL asks for it, and a certificate that does
/// not verify is refused. The throw-away cluster of scripts/test.sh serves a
/// self-signed certificate for 127.0.0.1 (`CALLBRIDGE_TEST_POSTGRES_CA`).
@Suite(.enabled(if: testServerCAFile != nil, "needs CALLBRIDGE_TEST_POSTGRES_CA (scripts/test.sh sets it)"))
struct PostgresTLSTests {

    /// Whether the log's own connection runs over TLS, as the server sees it.
    func connectionUsesTLS(_ options: String) async throws -> Bool {
        let database = try await TestPostgres.createDatabase(prefix: "cb_tls")
        do {
            let url = try PostgresURL(parsing: database + "?" + options)
            let log = try await PostgresEventLog.connect(url: url, logger: PostgresEventLogTests.quietLogger())
            let rows = try await log.client.rows("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", logger: log.logger) {
                try $0.decode(Bool.self)
            }
            await log.close()
            await TestPostgres.dropDatabase(url: database)
            return rows.first ?? false
        } catch {
            await TestPostgres.dropDatabase(url: database)
            throw error
        }
    }

    @Test func sslmodeRequireEncrypts() async throws {
        #expect(try await connectionUsesTLS("sslmode=require"))
    }

    @Test func verifyFullWithTheServersCAEncrypts() async throws {
        #expect(try await connectionUsesTLS("sslmode=verify-full&sslrootcert=\(try #require(testServerCAFile))"))
    }

    @Test func sslmodeDisableDoesNot() async throws {
        #expect(try await !connectionUsesTLS("sslmode=disable"))
    }

    @Test func verifyFullRefusesACertificateNoTrustedCASigned() async throws {
        await #expect(throws: PostgresEventLogError.self) {
            _ = try await connectionUsesTLS("sslmode=verify-full&connect_timeout=5")
        }
    }
}

/// `storage.postgres` URLs: what is accepted, and that every mistake is named.
@Suite struct PostgresURLTests {
    @Test func aFullURLIsParsed() throws {
        let url = try PostgresURL(parsing: "postgresql://app:p%40ss@db.internal:6543/callbridge?sslmode=verify-full&pool_max=20&application_name=cb-1")
        #expect(url.host == "db.internal")
        #expect(url.port == 6543)
        #expect(url.username == "app")
        #expect(url.password == "p@ss")
        #expect(url.database == "callbridge")
        #expect(url.sslMode == .verifyFull)
        #expect(url.maximumConnections == 20)
        #expect(url.applicationName == "cb-1")
        #expect(!url.description.contains("p@ss"))
        #expect(url.description == "postgres://app:***@db.internal:6543/callbridge?sslmode=verify-full")
    }

    @Test func percentEncodingIsDecodedOnce() throws {
        let url = try PostgresURL(parsing: "postgres://app:a%2541b@db/c")
        #expect(url.password == "a%41b")
    }

    @Test func defaultsFollowLibpq() throws {
        let url = try PostgresURL(parsing: "postgres://app@localhost/db")
        #expect(url.port == 5432)
        #expect(url.sslMode == .prefer)
        #expect(url.password == nil)
    }

    @Test(arguments: [
        ("mysql://a@b/c", "scheme"),
        ("postgres://a@b", "no database"),
        ("postgres://b/c", "no user"),
        ("postgres://a@b/c?sslmode=maybe", "sslmode"),
        ("postgres://a@b/c?pool_max=1", "pool_max"),
        ("postgres://a@b/c?sslmode=require&sslmode=disable", "twice"),
        ("postgres://a@b/c?statement_timeout=5", "unknown option 'statement_timeout'"),
        ("postgres://a@b/c?sslrootcert=/ca.pem", "verify-ca"),
        ("not a url", "not a URL"),
    ])
    func mistakesAreNamed(_ text: String, _ expected: String) {
        #expect(throws: PostgresURLError.self) { try PostgresURL(parsing: text) }
        do {
            _ = try PostgresURL(parsing: text)
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }
}

extension PostgresURL {
    /// postgres://user@host:port/db, the form `TestPostgres.query` takes.
    var descriptionWithoutOptions: String { "postgres://\(username)@\(host):\(port)/\(database)" }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
