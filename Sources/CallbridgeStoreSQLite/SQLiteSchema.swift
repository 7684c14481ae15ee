import GRDB

/// The SQLite schema of the event log, as one ordered list of named migrations.
///
/// Invariants: migrations are append-only. A migration that has shipped is
/// never edited or renamed; a schema change is a new `registerMigration` call
/// at the end of `migrator` ("v2", "v3", …). Every table lives here, so the
/// whole schema can be read in one place.
enum SQLiteSchema {
    /// Every migration, oldest first.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        // v1: events, the raw requests they came from, the delivery outbox and
        // its attempt history.
        migrator.registerMigration("v1") { db in
            // `id` is an `evt_` ULID, so ORDER BY id is creation order.
            // `envelope` holds Event.envelopeBytes: the exact bytes delivered.
            // The other columns are copies of envelope fields, for filtering.
            try db.execute(sql: """
                CREATE TABLE events (
                    id             TEXT    NOT NULL PRIMARY KEY,
                    type           TEXT    NOT NULL,
                    provider       TEXT    NOT NULL,
                    route          TEXT    NOT NULL,
                    channel        TEXT    NOT NULL,
                    verified       INTEGER NOT NULL,
                    order_id       TEXT,
                    received_at_ms INTEGER NOT NULL,
                    dedup_key      TEXT,
                    envelope       BLOB    NOT NULL,
                    revision       INTEGER NOT NULL DEFAULT 1,
                    -- NULL dedup keys never collide (SQLite treats NULLs as distinct).
                    UNIQUE (provider, dedup_key)
                );
                CREATE INDEX events_by_provider_type ON events (provider, type, id);
                CREATE INDEX events_by_type ON events (type, id);

                -- headers: JSON array of [name, value] pairs, in arrival order.
                CREATE TABLE raw_requests (
                    event_id       TEXT    NOT NULL PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
                    method         TEXT    NOT NULL,
                    path           TEXT    NOT NULL,
                    query          TEXT    NOT NULL,
                    headers        TEXT    NOT NULL,
                    body           BLOB    NOT NULL,
                    remote_address TEXT,
                    received_at_ms INTEGER NOT NULL
                );

                CREATE TABLE deliveries (
                    id                  INTEGER NOT NULL PRIMARY KEY,
                    event_id            TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
                    endpoint            TEXT    NOT NULL,
                    state               TEXT    NOT NULL
                        CHECK (state IN ('pending', 'in_flight', 'succeeded', 'dead')),
                    attempt_count       INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at_ms  INTEGER,
                    lease_owner         TEXT,
                    lease_expires_at_ms INTEGER,
                    last_status_code    INTEGER,
                    last_error          TEXT,
                    created_at_ms       INTEGER NOT NULL,
                    updated_at_ms       INTEGER NOT NULL
                );
                CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at_ms);
                CREATE INDEX deliveries_by_endpoint ON deliveries (endpoint, state);
                CREATE INDEX deliveries_by_event ON deliveries (event_id);

                CREATE TABLE attempts (
                    id               INTEGER NOT NULL PRIMARY KEY,
                    delivery_id      INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
                    number           INTEGER NOT NULL,
                    started_at_ms    INTEGER NOT NULL,
                    duration_ms      INTEGER NOT NULL,
                    status_code      INTEGER,
                    error            TEXT,
                    response_snippet BLOB
                );
                CREATE INDEX attempts_by_delivery ON attempts (delivery_id, number);
                """)
        }

        // v2: endpoint state shared by every process on this log (disabled by
        // a 410 or by an operator), and an index for lease expiry scans.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                CREATE TABLE endpoint_states (
                    name          TEXT    NOT NULL PRIMARY KEY,
                    disabled      INTEGER NOT NULL DEFAULT 0,
                    reason        TEXT,
                    updated_at_ms INTEGER NOT NULL
                );
                CREATE INDEX deliveries_leases ON deliveries (state, lease_expires_at_ms);
                CREATE INDEX deliveries_endpoint_due ON deliveries (endpoint, state, next_attempt_at_ms, id);
                """)
        }

        // v3: replay. A replayed delivery points at the one it supersedes (so
        // "dead" can mean "dead and not replayed"), and re-normalization keeps
        // every earlier form of an event beside the current one.
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                ALTER TABLE deliveries ADD COLUMN superseded_by INTEGER REFERENCES deliveries (id);
                CREATE TABLE event_revisions (
                    event_id      TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
                    revision      INTEGER NOT NULL,
                    type          TEXT    NOT NULL,
                    envelope      BLOB    NOT NULL,
                    replaced_at_ms INTEGER NOT NULL,
                    PRIMARY KEY (event_id, revision)
                );
                CREATE INDEX events_by_received ON events (received_at_ms, id);
                """)
        }

        // v4: the order ledger. One row per (provider, order id): `ledger` is
        // the entry as OrderLedgerEntry.json writes it (the source of truth);
        // the other columns copy its fields for filtering and for operators.
        // Deliveries of `ordering: per_order` endpoints name their order's row
        // and the event's place in the story; a parked one (pending, no due
        // time) waits for the one before it.
        migrator.registerMigration("v4") { db in
            try db.execute(sql: """
                CREATE TABLE orders (
                    id                INTEGER NOT NULL PRIMARY KEY,
                    provider          TEXT    NOT NULL,
                    order_id          TEXT    NOT NULL,
                    state             TEXT    NOT NULL,
                    amount            TEXT,
                    currency          TEXT,
                    expected_amount   TEXT,
                    expected_currency TEXT,
                    first_seen_ms     INTEGER,
                    last_seen_ms      INTEGER,
                    last_event_id     TEXT,
                    event_count       INTEGER NOT NULL,
                    mismatch_count    INTEGER NOT NULL,
                    ledger            TEXT    NOT NULL,
                    created_at_ms     INTEGER NOT NULL,
                    updated_at_ms     INTEGER NOT NULL,
                    UNIQUE (provider, order_id)
                );
                CREATE INDEX orders_by_state ON orders (state, id);
                CREATE INDEX events_by_order ON events (provider, order_id);
                ALTER TABLE deliveries ADD COLUMN order_ref INTEGER;
                ALTER TABLE deliveries ADD COLUMN order_seq INTEGER;
                CREATE INDEX deliveries_order_chain ON deliveries (order_ref, endpoint, state, order_seq)
                    WHERE order_ref IS NOT NULL;
                """)
        }

        // Status checks (README, "Status checks"): one job per order, its
        // tries, and the returns (hints) waiting for or answered by it. The
        // job's whole state is `status_check` (StatusCheck's JSON); the other
        // columns are copies of it for leasing.
        migrator.registerMigration("v5") { db in
            try db.execute(sql: """
                CREATE TABLE status_checks (
                    id               INTEGER NOT NULL PRIMARY KEY,
                    provider         TEXT    NOT NULL,
                    order_id         TEXT    NOT NULL,
                    state            TEXT    NOT NULL,
                    due_at_ms        INTEGER,
                    lease_expires_ms INTEGER,
                    status_check     TEXT    NOT NULL,
                    updated_at_ms    INTEGER NOT NULL,
                    UNIQUE (provider, order_id)
                );
                CREATE INDEX status_checks_due ON status_checks (provider, due_at_ms) WHERE state = 'waiting';
                CREATE INDEX status_checks_leased ON status_checks (provider, lease_expires_ms) WHERE state = 'leased';
                CREATE INDEX status_checks_next_due ON status_checks (due_at_ms) WHERE state = 'waiting';
                CREATE INDEX status_checks_next_expiry ON status_checks (lease_expires_ms) WHERE state = 'leased';
                CREATE TABLE status_check_tries (
                    id              INTEGER NOT NULL PRIMARY KEY,
                    check_id        INTEGER NOT NULL REFERENCES status_checks (id),
                    started_at_ms   INTEGER NOT NULL,
                    duration_ms     INTEGER NOT NULL,
                    http_status     INTEGER,
                    outcome         TEXT    NOT NULL,
                    reason          TEXT    NOT NULL,
                    error           TEXT,
                    answer_event_id TEXT
                );
                CREATE INDEX status_check_tries_by_check ON status_check_tries (check_id, id);
                CREATE TABLE status_check_hints (
                    event_id       TEXT    NOT NULL PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
                    check_id       INTEGER NOT NULL REFERENCES status_checks (id),
                    type           TEXT    NOT NULL,
                    amount         TEXT,
                    currency       TEXT,
                    received_at_ms INTEGER NOT NULL,
                    answered_by    TEXT,
                    verdict        TEXT,
                    verdict_detail TEXT
                );
                CREATE INDEX status_check_hints_waiting ON status_check_hints (check_id) WHERE verdict IS NULL;
                CREATE INDEX status_check_hints_by_check ON status_check_hints (check_id, received_at_ms);
                """)
        }

        // The console's activity charts (GET /admin/v1/stats) count the
        // attempts of the last minutes to hours: by start time, not a scan.
        migrator.registerMigration("v6") { db in
            try db.execute(sql: "CREATE INDEX attempts_by_started ON attempts (started_at_ms)")
        }

        return migrator
    }
}
