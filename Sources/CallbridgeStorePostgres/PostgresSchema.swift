import Logging
import PostgresNIO

/// The PostgreSQL schema of the event log: the same tables and columns as
/// the SQLite log (`SQLiteSchema`), so `log copy` moves rows one to one.
///
/// Invariants: migrations are append-only and named; `migrate` applies the
/// missing ones in one transaction holding a transaction-level advisory lock,
/// so processes starting together migrate once and the others wait, then
/// find nothing left to do. Times are Unix milliseconds in BIGINT columns.
enum PostgresSchema {
    /// Key of the advisory lock held while migrating ("callbrdg" in ASCII).
    static let migrationLockKey: Int64 = 0x63616C6C_62726467

    /// Every migration, oldest first.
    static let migrations: [(id: String, sql: [String])] = [
        ("v1", [
            """
            CREATE TABLE events (
                id             TEXT    NOT NULL PRIMARY KEY,
                type           TEXT    NOT NULL,
                provider       TEXT    NOT NULL,
                route          TEXT    NOT NULL,
                channel        TEXT    NOT NULL,
                verified       BOOLEAN NOT NULL,
                order_id       TEXT,
                received_at_ms BIGINT  NOT NULL,
                dedup_key      TEXT,
                envelope       BYTEA   NOT NULL,
                revision       BIGINT  NOT NULL DEFAULT 1,
                -- NULL dedup keys never collide (NULLs are distinct in a UNIQUE constraint).
                CONSTRAINT events_dedup UNIQUE (provider, dedup_key)
            )
            """,
            "CREATE INDEX events_by_provider_type ON events (provider, type, id)",
            "CREATE INDEX events_by_type ON events (type, id)",
            "CREATE INDEX events_by_received ON events (received_at_ms, id)",
            """
            CREATE TABLE raw_requests (
                event_id       TEXT   NOT NULL PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
                method         TEXT   NOT NULL,
                path           TEXT   NOT NULL,
                query          TEXT   NOT NULL,
                headers        TEXT   NOT NULL,
                body           BYTEA  NOT NULL,
                remote_address TEXT,
                received_at_ms BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE deliveries (
                id                  BIGSERIAL PRIMARY KEY,
                event_id            TEXT   NOT NULL REFERENCES events (id) ON DELETE CASCADE,
                endpoint            TEXT   NOT NULL,
                state               TEXT   NOT NULL CHECK (state IN ('pending', 'in_flight', 'succeeded', 'dead')),
                attempt_count       BIGINT NOT NULL DEFAULT 0,
                next_attempt_at_ms  BIGINT,
                lease_owner         TEXT,
                lease_expires_at_ms BIGINT,
                last_status_code    BIGINT,
                last_error          TEXT,
                created_at_ms       BIGINT NOT NULL,
                updated_at_ms       BIGINT NOT NULL,
                superseded_by       BIGINT REFERENCES deliveries (id) ON DELETE SET NULL
            )
            """,
            // Partial indexes: leasing reads only the due end of each endpoint's queue.
            "CREATE INDEX deliveries_pending_due ON deliveries (endpoint, next_attempt_at_ms, id) WHERE state = 'pending'",
            "CREATE INDEX deliveries_leases ON deliveries (endpoint, lease_expires_at_ms) WHERE state = 'in_flight'",
            "CREATE INDEX deliveries_by_event ON deliveries (event_id)",
            "CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint, state)",
            // Deleting a delivery (prune) sets superseded_by NULL where it points at it.
            "CREATE INDEX deliveries_superseded ON deliveries (superseded_by) WHERE superseded_by IS NOT NULL",
            """
            CREATE TABLE attempts (
                id               BIGSERIAL PRIMARY KEY,
                delivery_id      BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
                number           BIGINT NOT NULL,
                started_at_ms    BIGINT NOT NULL,
                duration_ms      BIGINT NOT NULL,
                status_code      BIGINT,
                error            TEXT,
                response_snippet BYTEA
            )
            """,
            "CREATE INDEX attempts_by_delivery ON attempts (delivery_id, number)",
            """
            CREATE TABLE endpoint_states (
                name          TEXT    NOT NULL PRIMARY KEY,
                disabled      BOOLEAN NOT NULL DEFAULT FALSE,
                reason        TEXT,
                updated_at_ms BIGINT  NOT NULL
            )
            """,
            """
            CREATE TABLE event_revisions (
                event_id       TEXT   NOT NULL REFERENCES events (id) ON DELETE CASCADE,
                revision       BIGINT NOT NULL,
                type           TEXT   NOT NULL,
                envelope       BYTEA  NOT NULL,
                replaced_at_ms BIGINT NOT NULL,
                PRIMARY KEY (event_id, revision)
            )
            """,
        ]),
        // v2: the order ledger, as SQLite's "v4". One row per (provider, order
        // id): `ledger` is the entry as OrderLedgerEntry.json renders it (the
        // source of truth), the other columns copy its fields for filtering.
        // Deliveries of `ordering: per_order` endpoints name their order's row
        // (`order_ref`, no foreign key, as on SQLite: `log copy` may write a
        // delivery before its order) and the event's place in the story; a
        // parked one (pending, no due time) waits for the one before it.
        ("v2", [
            """
            CREATE TABLE orders (
                id                BIGSERIAL PRIMARY KEY,
                provider          TEXT   NOT NULL,
                order_id          TEXT   NOT NULL,
                state             TEXT   NOT NULL,
                amount            TEXT,
                currency          TEXT,
                expected_amount   TEXT,
                expected_currency TEXT,
                first_seen_ms     BIGINT,
                last_seen_ms      BIGINT,
                last_event_id     TEXT,
                event_count       BIGINT NOT NULL,
                mismatch_count    BIGINT NOT NULL,
                ledger            TEXT   NOT NULL,
                created_at_ms     BIGINT NOT NULL,
                updated_at_ms     BIGINT NOT NULL,
                CONSTRAINT orders_key UNIQUE (provider, order_id)
            )
            """,
            "CREATE INDEX orders_by_state ON orders (state, id)",
            "CREATE INDEX events_by_order ON events (provider, order_id)",
            "ALTER TABLE deliveries ADD COLUMN order_ref BIGINT",
            "ALTER TABLE deliveries ADD COLUMN order_seq BIGINT",
            """
            CREATE INDEX deliveries_order_chain ON deliveries (order_ref, endpoint, state, order_seq)
                WHERE order_ref IS NOT NULL
            """,
        ]),
        // v3: status checks, as SQLite's "v5": one job per (provider, order
        // id), its tries, and the returns (hints) waiting for or answered by
        // it. `status_check` is the job as StatusCheck.json renders it (the
        // source of truth); `state`, `due_at_ms` and `lease_expires_ms` copy
        // its fields for leasing. A job's row is written only under its row
        // lock (`PostgresStatusChecks`); a hint goes with its event.
        ("v3", [
            """
            CREATE TABLE status_checks (
                id               BIGSERIAL PRIMARY KEY,
                provider         TEXT   NOT NULL,
                order_id         TEXT   NOT NULL,
                state            TEXT   NOT NULL,
                due_at_ms        BIGINT,
                lease_expires_ms BIGINT,
                status_check     TEXT   NOT NULL,
                updated_at_ms    BIGINT NOT NULL,
                CONSTRAINT status_checks_key UNIQUE (provider, order_id)
            )
            """,
            // Partial indexes: leasing reads only the due end of each provider's queue.
            "CREATE INDEX status_checks_due ON status_checks (provider, due_at_ms) WHERE state = 'waiting'",
            "CREATE INDEX status_checks_leased ON status_checks (provider, lease_expires_ms) WHERE state = 'leased'",
            "CREATE INDEX status_checks_next_due ON status_checks (due_at_ms) WHERE state = 'waiting'",
            "CREATE INDEX status_checks_next_expiry ON status_checks (lease_expires_ms) WHERE state = 'leased'",
            """
            CREATE TABLE status_check_tries (
                id              BIGSERIAL PRIMARY KEY,
                check_id        BIGINT NOT NULL REFERENCES status_checks (id),
                started_at_ms   BIGINT NOT NULL,
                duration_ms     BIGINT NOT NULL,
                http_status     BIGINT,
                outcome         TEXT   NOT NULL,
                reason          TEXT   NOT NULL,
                error           TEXT,
                answer_event_id TEXT
            )
            """,
            "CREATE INDEX status_check_tries_by_check ON status_check_tries (check_id, id)",
            """
            CREATE TABLE status_check_hints (
                event_id       TEXT   NOT NULL PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
                check_id       BIGINT NOT NULL REFERENCES status_checks (id),
                type           TEXT   NOT NULL,
                amount         TEXT,
                currency       TEXT,
                received_at_ms BIGINT NOT NULL,
                answered_by    TEXT,
                verdict        TEXT,
                verdict_detail TEXT
            )
            """,
            "CREATE INDEX status_check_hints_waiting ON status_check_hints (check_id) WHERE verdict IS NULL",
            "CREATE INDEX status_check_hints_by_check ON status_check_hints (check_id, received_at_ms)",
        ]),
        // v4: as SQLite's "v6": attempts by start time, for the console's
        // activity charts (GET /admin/v1/stats).
        ("v4", [
            "CREATE INDEX attempts_by_started ON attempts (started_at_ms)",
        ]),
    ]

    /// Applies every missing migration; returns the ids it applied (empty
    /// when another process had migrated already).
    @discardableResult
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS callbridge_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<String>()
            for try await id in try await connection.query("SELECT id FROM callbridge_migrations", logger: logger).decode(String.self) {
                applied.insert(id)
            }
            var done: [String] = []
            for migration in migrations where !applied.contains(migration.id) {
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO callbridge_migrations (id) VALUES (\(migration.id))", logger: logger)
                done.append(migration.id)
            }
            return done
        }
    }

    /// Migration ids this build knows but the database lacks.
    static func missingMigrations(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let exists = try await connection.query("SELECT to_regclass('callbridge_migrations') IS NOT NULL", logger: logger).decode(Bool.self)
        var hasTable = false
        for try await value in exists { hasTable = value }
        guard hasTable else { return migrations.map(\.id) }
        var applied = Set<String>()
        for try await id in try await connection.query("SELECT id FROM callbridge_migrations", logger: logger).decode(String.self) {
            applied.insert(id)
        }
        return migrations.map(\.id).filter { !applied.contains($0) }
    }
}
