import CallbridgeModel
import CallbridgeStore
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// The shared `EventLog`: one PostgreSQL database used by any number of
/// Callbridge processes as their log and delivery queue.
///
/// Invariants (beyond those of `EventLog`):
/// - the schema is migrated before the first query, under an advisory lock,
///   so processes starting together migrate once;
/// - appends are group-committed: one transaction per batch of concurrent
///   appends in this process, dedup by the `events_dedup` unique constraint
///   (`ON CONFLICT DO NOTHING`), and if a batch fails each of its records is
///   retried alone, so one bad record never fails another;
/// - leases are taken with `FOR UPDATE SKIP LOCKED`, so processes leasing at
///   once never get the same delivery, and a lease that expires (its owner
///   died) is taken by the next process that leases;
/// - every transaction that adds due deliveries sends `NOTIFY
///   callbridge_deliveries` on commit (see `watchDeliveries`);
/// - an event with an order id is placed in its order's story in the
///   transaction that stores it, with the order's ledger row locked
///   (`PostgresOrderLedger`), so processes appending one order's events
///   number them 1, 2, 3 … without gap or repeat.
public final class PostgresEventLog: EventLog, DeliveryNotifying, Sendable {
    /// The NOTIFY channel that says "deliveries were committed".
    public static let deliveriesChannel = "callbridge_deliveries"

    /// The database, as configured (its `description` hides the password).
    public let url: PostgresURL
    let client: PostgresClient
    let logger: Logger
    private let runTask: Task<Void, Never>
    private let appendQueue: GroupCommitQueue<IngestRecord, AppendOutcome>
    let completionQueue: GroupCommitQueue<PostgresCompletion, Bool>
    let statistics: AppendStatistics
    /// Stamps each append commit.
    let clock: @Sendable () -> Timestamp

    /// Connects, migrates the schema (unless `migrate` is false, in which
    /// case a database lacking migrations is refused) and starts the pool.
    /// `clock` stamps each append commit (the one clock seam, `SystemClock`).
    ///
    /// - Throws: `PostgresEventLogError.unavailable` when the server cannot
    ///   be reached or refuses the credentials, `.schemaNotMigrated` when
    ///   `migrate` is false and the schema is behind this build.
    public static func connect(url: PostgresURL, logger: Logger = Logger(label: "callbridge.postgres"), migrate: Bool = true,
                               clock: @escaping @Sendable () -> Timestamp = SystemClock.now) async throws -> PostgresEventLog {
        let tls = try PostgresTLS(url: url)
        let connection: PostgresConnection
        do {
            connection = try await withDeadline(seconds: url.connectTimeoutSeconds) {
                var configuration = PostgresConnection.Configuration(
                    host: url.host, port: url.port, username: url.username, password: url.password, database: url.database,
                    tls: try tls.connectionTLS())
                configuration.options.connectTimeout = .seconds(Int64(url.connectTimeoutSeconds))
                configuration.options.additionalStartupParameters = [("application_name", url.applicationName)]
                return try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            }
        } catch {
            throw PostgresEventLogError.unavailable("cannot connect to \(url): \(PostgresErrorText.describe(error))")
        }
        do {
            if migrate {
                let applied = try await PostgresSchema.migrate(connection, logger: logger)
                if !applied.isEmpty { logger.notice("migrated the PostgreSQL log", metadata: ["applied": "\(applied.joined(separator: ","))"]) }
            } else {
                let missing = try await PostgresSchema.missingMigrations(connection, logger: logger)
                guard missing.isEmpty else { throw PostgresEventLogError.schemaNotMigrated(url: url.description, missing: missing) }
            }
        } catch let error as PostgresEventLogError {
            try? await connection.close()
            throw error
        } catch {
            try? await connection.close()
            throw PostgresEventLogError.database("migrating \(url): \(PostgresErrorText.describe(error))")
        }
        try? await connection.close()
        let (started, signal) = AsyncStream<Void>.makeStream()
        let log = PostgresEventLog(url: url, tls: tls, logger: logger, clock: clock, started: signal)
        for await _ in started { break }  // the pool runs before the first query
        return log
    }

    private init(url: PostgresURL, tls: PostgresTLS, logger: Logger, clock: @escaping @Sendable () -> Timestamp,
                 started: AsyncStream<Void>.Continuation) {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls.clientTLS)
        configuration.options.maximumConnections = url.maximumConnections
        configuration.options.connectTimeout = .seconds(Int64(url.connectTimeoutSeconds))
        configuration.options.additionalStartupParameters = [("application_name", url.applicationName)]
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.url = url
        self.client = client
        self.logger = logger
        // Detached: the pool must outlive a ServiceGroup's graceful shutdown
        // (the dispatcher releases its leases after the listener stopped).
        self.runTask = Task.detached {
            started.finish()
            await client.run()
        }
        let statistics = AppendStatistics()
        self.statistics = statistics
        self.clock = clock
        self.appendQueue = GroupCommitQueue { records in
            try await PostgresAppendBatch.write(records, now: clock(), client: client, logger: logger, statistics: statistics)
        }
        self.completionQueue = GroupCommitQueue { completions in
            try await PostgresCompletion.write(completions, client: client, logger: logger)
        }
    }

    /// Closes every connection; in-flight queries fail.
    public func close() async {
        runTask.cancel()
        await runTask.value
    }

    /// Number of append transactions committed by this instance.
    public var commitCount: Int { statistics.commitCount }
    /// Number of events stored (not duplicates, not failures) by this instance.
    public var appendedCount: Int { statistics.appendedCount }

    public func append(_ record: IngestRecord) async throws -> AppendOutcome {
        do {
            return try await appendQueue.submit(record)
        } catch {
            throw PostgresEventLogError.wrapping(error, "append")
        }
    }

    /// Writes `records` as one batch, bypassing the queue: the exact path the
    /// queue's drain takes. For tests.
    func writeBatch(_ records: [IngestRecord]) async throws -> [Result<AppendOutcome, any Error>] {
        try await PostgresAppendBatch.write(records, now: clock(), client: client, logger: logger, statistics: statistics)
    }

    /// Runs `body` and turns driver errors into readable `PostgresEventLogError`s.
    func database<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw PostgresEventLogError.wrapping(error, what)
        }
    }

    /// Starts a transaction, checks the server accepts writes, rolls back.
    public func writeProbeFailure() async -> String? {
        do {
            return try await Self.withDeadline(seconds: 5) { [client, logger] in
                try await client.withConnection { connection in
                    var readOnly = false
                    for try await value in try await connection.query("SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'",
                                                                      logger: logger).decode(Bool.self) {
                        readOnly = value
                    }
                    return readOnly ? "the PostgreSQL server accepts no writes (read-only or a standby)" : nil
                }
            }
        } catch {
            // The probe's text is served on /readyz: the detail (user, host,
            // database) goes to the log only.
            logger.warning("PostgreSQL write probe failed", metadata: ["error": "\(PostgresErrorText.describe(error))"])
            return "the PostgreSQL log is not reachable"
        }
    }

    /// Runs `body`, failing with `.unavailable` after `seconds` without
    /// waiting for it: a query stuck on a dead connection ignores
    /// cancellation, so it is cancelled and left to fail on its own.
    static func withDeadline<T: Sendable>(seconds: Int, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let waiter = DeadlineWaiter<T>()
        return try await withCheckedThrowingContinuation { continuation in
            waiter.set(continuation)
            let work = Task {
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                waiter.take()?.resume(with: result)
            }
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                if let continuation = waiter.take() {
                    work.cancel()
                    continuation.resume(throwing: PostgresEventLogError.unavailable("no answer within \(seconds) s"))
                }
            }
        }
    }
}

/// The caller of `withDeadline`, resumed exactly once: by the work or by the timer.
private final class DeadlineWaiter<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)
    func set(_ value: CheckedContinuation<T, any Error>) { continuation.withLock { $0 = value } }
    /// The continuation, the first time only.
    func take() -> CheckedContinuation<T, any Error>? {
        continuation.withLock { value in
            defer { value = nil }
            return value
        }
    }
}

/// The TLS settings a `PostgresURL` asks for, in the two forms postgres-nio
/// takes (pool and single connection).
struct PostgresTLS: Sendable {
    let mode: PostgresURL.SSLMode
    let configuration: TLSConfiguration

    init(url: PostgresURL) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable, .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let root = url.sslRootCertificate { tls.trustRoots = .file(root) }
        mode = url.sslMode
        configuration = tls
    }

    var clientTLS: PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(configuration)
        case .require, .verifyCA, .verifyFull: return .require(configuration)
        }
    }

    func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(try NIOSSLContext(configuration: configuration))
        case .require, .verifyCA, .verifyFull: return .require(try NIOSSLContext(configuration: configuration))
        }
    }
}

/// Why the PostgreSQL log failed, in words an operator can act on.
public enum PostgresEventLogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server could not be reached, or refused the connection.
    case unavailable(String)
    /// The database lacks migrations this build needs (`migrate: false`).
    case schemaNotMigrated(url: String, missing: [String])
    /// A statement failed; the text carries the server's message.
    case database(String)
    /// A stored row could not be turned back into the model.
    case corruptRow(table: String, key: String, reason: String)

    public var description: String {
        switch self {
        case .unavailable(let text), .database(let text): return text
        case .schemaNotMigrated(let url, let missing):
            return "the PostgreSQL log at \(url) lacks migrations \(missing.joined(separator: ", ")); start `callbridge serve` on it once to migrate"
        case .corruptRow(let table, let key, let reason): return "corrupt row in \(table) (\(key)): \(reason)"
        }
    }

    static func wrapping(_ error: any Error, _ what: String) -> any Error {
        if error is PostgresEventLogError || error is CancellationError { return error }
        return PostgresEventLogError.database("\(what): \(PostgresErrorText.describe(error))")
    }
}

/// Readable text for postgres-nio errors, whose `description` is generic on purpose.
enum PostgresErrorText {
    static func describe(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError ?? error.commitError ?? error.beginError { return describe(inner) }
        }
        if let error = error as? PSQLError {
            if let info = error.serverInfo {
                var text = info[.message] ?? "server error"
                if let detail = info[.detail] { text += " (\(detail))" }
                if let state = info[.sqlState] { text += " [SQLSTATE \(state)]" }
                return text
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// The SQLSTATE of a server error, if `error` is one.
    static func sqlState(_ error: any Error) -> String? {
        if let error = error as? PostgresTransactionError, let inner = error.closureError ?? error.commitError { return sqlState(inner) }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}
