import CallbridgeModel
import CallbridgeStore
import Logging
import NIOCore
import PostgresNIO

/// Rows of one table as parallel arrays, inserted with one
/// `INSERT … SELECT … FROM unnest($1, …)`: a batch costs one round trip
/// whatever its size. Ingest and `log copy` share these, so both write a
/// table the same way.
///
/// Invariants: every array has one element per appended row; `bind` adds
/// the parameters `select` names, from `$1`, in its order; nullable values
/// travel as a value array plus a NULL mask (`NullableColumn`).
protocol UnnestColumns: Sendable {
    static var table: String { get }
    /// The column list of the `INSERT`.
    static var insertColumns: String { get }
    /// `SELECT … FROM unnest(…)` giving one row per element, NULL masks applied.
    static var select: String { get }
    /// Rows appended so far.
    var count: Int { get }
    func bind(_ bindings: inout PostgresBindings)
}

/// Inserts the rows of `columns`, skipping any whose key is stored already
/// (`ON CONFLICT DO NOTHING`); its one row is how many it inserted.
struct InsertRows<Columns: UnnestColumns>: PostgresPreparedStatement {
    static var sql: String {
        """
        WITH inserted AS (
            INSERT INTO \(Columns.table) (\(Columns.insertColumns))
            \(Columns.select)
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT count(*)::int8 FROM inserted
        """
    }
    typealias Row = Int
    let columns: Columns

    init(_ columns: Columns) { self.columns = columns }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        columns.bind(&bindings)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode(Int.self) }
}

extension PostgresConnection {
    /// Runs an `InsertRows` (nothing when it is empty); returns how many rows were inserted.
    func insert<Columns>(_ statement: InsertRows<Columns>, logger: Logger) async throws -> Int {
        guard statement.columns.count > 0 else { return 0 }
        return try await rows(statement, logger: logger).first ?? 0
    }
}

/// `events` columns. Ingest adds its own `ON CONFLICT` on the dedup key.
struct EventColumns: UnnestColumns {
    static let table = "events"
    static let insertColumns = "id, type, provider, route, channel, verified, order_id, received_at_ms, dedup_key, envelope, revision"
    static let select = """
        SELECT id, type, provider, route, channel, verified, CASE WHEN order_null THEN NULL ELSE order_id END, received_at_ms,
               CASE WHEN key_null THEN NULL ELSE dedup_key END, envelope, revision
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::bool[],
                    $9::int8[], $10::text[], $11::bool[], $12::bytea[], $13::int8[])
             AS r(id, type, provider, route, channel, verified, order_id, order_null, received_at_ms, dedup_key, key_null, envelope, revision)
        """

    private(set) var ids: [String] = []
    var count: Int { ids.count }
    private var types: [String] = []
    private var providers: [String] = []
    private var routes: [String] = []
    private var channels: [String] = []
    private var verified: [Bool] = []
    private var orderIDs = NullableColumn<String>(placeholder: "")
    private var receivedAt: [Int64] = []
    private var dedupKeys = NullableColumn<String>(placeholder: "")
    private var envelopes: [ByteBuffer] = []
    private var revisions: [Int64] = []

    mutating func append(id: String, type: String, provider: String, route: String, channel: String, verified: Bool, orderID: String?,
                         receivedAt: Int64, dedupKey: String?, envelope: [UInt8], revision: Int64) {
        ids.append(id.postgresText)
        types.append(type.postgresText)
        providers.append(provider.postgresText)
        routes.append(route.postgresText)
        channels.append(channel.postgresText)
        self.verified.append(verified)
        orderIDs.append(orderID?.postgresText)
        self.receivedAt.append(receivedAt)
        dedupKeys.append(dedupKey?.postgresText)
        envelopes.append(ByteBuffer(bytes: envelope))
        revisions.append(revision)
    }

    func bind(_ b: inout PostgresBindings) {
        b.append(ids); b.append(types); b.append(providers); b.append(routes); b.append(channels); b.append(verified)
        b.append(orderIDs.values); b.append(orderIDs.isNull); b.append(receivedAt)
        b.append(dedupKeys.values); b.append(dedupKeys.isNull); b.append(envelopes); b.append(revisions)
    }
}

/// `raw_requests` columns.
struct RawRequestColumns: UnnestColumns {
    static let table = "raw_requests"
    static let insertColumns = "event_id, method, path, query, headers, body, remote_address, received_at_ms"
    static let select = """
        SELECT event_id, method, path, query, headers, body, CASE WHEN address_null THEN NULL ELSE remote_address END, received_at_ms
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[], $8::bool[], $9::int8[])
             AS r(event_id, method, path, query, headers, body, remote_address, address_null, received_at_ms)
        """

    private(set) var eventIDs: [String] = []
    var count: Int { eventIDs.count }
    private var methods: [String] = []
    private var paths: [String] = []
    private var queries: [String] = []
    private var headers: [String] = []
    private var bodies: [ByteBuffer] = []
    private var addresses = NullableColumn<String>(placeholder: "")
    private var receivedAt: [Int64] = []

    /// - Parameter headers: as stored (`HeaderCoding.render`).
    mutating func append(eventID: String, method: String, path: String, query: String, headers: String, body: [UInt8], remoteAddress: String?,
                         receivedAt: Int64) {
        eventIDs.append(eventID.postgresText)
        methods.append(method.postgresText)
        paths.append(path.postgresText)
        queries.append(query.postgresText)
        self.headers.append(headers.postgresText)
        bodies.append(ByteBuffer(bytes: body))
        addresses.append(remoteAddress?.postgresText)
        self.receivedAt.append(receivedAt)
    }

    func bind(_ b: inout PostgresBindings) {
        b.append(eventIDs); b.append(methods); b.append(paths); b.append(queries); b.append(headers); b.append(bodies)
        b.append(addresses.values); b.append(addresses.isNull); b.append(receivedAt)
    }
}

extension EventColumns {
    /// Copied events, revision and all.
    init(_ rows: [LogCopyEvent]) {
        for row in rows {
            append(id: row.id.rawValue, type: row.type, provider: row.provider, route: row.route, channel: row.channel, verified: row.verified,
                   orderID: row.orderID, receivedAt: row.receivedAtMilliseconds, dedupKey: row.dedupKey, envelope: row.envelope,
                   revision: row.revision)
        }
    }
}

extension RawRequestColumns {
    /// Copied raw requests, headers as stored.
    init(_ rows: [LogCopyRawRequest]) {
        for row in rows {
            append(eventID: row.eventID.rawValue, method: row.method, path: row.path, query: row.query, headers: row.headers, body: row.body,
                   remoteAddress: row.remoteAddress, receivedAt: row.receivedAtMilliseconds)
        }
    }
}

/// Every `deliveries` column, id, `superseded_by` and the order chain
/// included (`log copy`). A `superseded_by` names a delivery of the same
/// event, so of the same batch: the reference is checked at the end of the
/// one statement. `order_ref` has no foreign key to check.
struct DeliveryColumns: UnnestColumns {
    static let table = "deliveries"
    static let insertColumns = """
        id, event_id, endpoint, state, attempt_count, next_attempt_at_ms, lease_owner, lease_expires_at_ms,
        last_status_code, last_error, created_at_ms, updated_at_ms, superseded_by, order_ref, order_seq
        """
    static let select = """
        SELECT id, event_id, endpoint, state, attempt_count,
               CASE WHEN next_null THEN NULL ELSE next_attempt_at_ms END,
               CASE WHEN owner_null THEN NULL ELSE lease_owner END,
               CASE WHEN expires_null THEN NULL ELSE lease_expires_at_ms END,
               CASE WHEN status_null THEN NULL ELSE last_status_code END,
               CASE WHEN error_null THEN NULL ELSE last_error END,
               created_at_ms, updated_at_ms,
               CASE WHEN superseded_null THEN NULL ELSE superseded_by END,
               CASE WHEN ref_null THEN NULL ELSE order_ref END, CASE WHEN seq_null THEN NULL ELSE order_seq END
        FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::bool[], $8::text[], $9::bool[],
                    $10::int8[], $11::bool[], $12::int8[], $13::bool[], $14::text[], $15::bool[], $16::int8[], $17::int8[],
                    $18::int8[], $19::bool[], $20::int8[], $21::bool[], $22::int8[], $23::bool[])
             AS r(id, event_id, endpoint, state, attempt_count, next_attempt_at_ms, next_null, lease_owner, owner_null,
                  lease_expires_at_ms, expires_null, last_status_code, status_null, last_error, error_null, created_at_ms, updated_at_ms,
                  superseded_by, superseded_null, order_ref, ref_null, order_seq, seq_null)
        """

    private var ids: [Int64] = []
    var count: Int { ids.count }
    private var eventIDs: [String] = []
    private var endpoints: [String] = []
    private var states: [String] = []
    private var attemptCounts: [Int64] = []
    private var nextAttemptAt = NullableColumn<Int64>(placeholder: 0)
    private var leaseOwners = NullableColumn<String>(placeholder: "")
    private var leaseExpiresAt = NullableColumn<Int64>(placeholder: 0)
    private var lastStatusCodes = NullableColumn<Int64>(placeholder: 0)
    private var lastErrors = NullableColumn<String>(placeholder: "")
    private var createdAt: [Int64] = []
    private var updatedAt: [Int64] = []
    private var supersededBy = NullableColumn<Int64>(placeholder: 0)
    private var orderRefs = NullableColumn<Int64>(placeholder: 0)
    private var orderSeqs = NullableColumn<Int64>(placeholder: 0)

    init(_ rows: [LogCopyDelivery]) {
        for row in rows {
            ids.append(row.id)
            eventIDs.append(row.eventID.rawValue)
            endpoints.append(row.endpoint)
            states.append(row.state.rawValue)
            attemptCounts.append(row.attemptCount)
            nextAttemptAt.append(row.nextAttemptAtMilliseconds)
            leaseOwners.append(row.leaseOwner)
            leaseExpiresAt.append(row.leaseExpiresAtMilliseconds)
            lastStatusCodes.append(row.lastStatusCode)
            lastErrors.append(row.lastError)
            createdAt.append(row.createdAtMilliseconds)
            updatedAt.append(row.updatedAtMilliseconds)
            supersededBy.append(row.supersededBy)
            orderRefs.append(row.orderRef)
            orderSeqs.append(row.orderSeq)
        }
    }

    func bind(_ b: inout PostgresBindings) {
        b.append(ids); b.append(eventIDs); b.append(endpoints); b.append(states); b.append(attemptCounts)
        b.append(nextAttemptAt.values); b.append(nextAttemptAt.isNull)
        b.append(leaseOwners.values); b.append(leaseOwners.isNull)
        b.append(leaseExpiresAt.values); b.append(leaseExpiresAt.isNull)
        b.append(lastStatusCodes.values); b.append(lastStatusCodes.isNull)
        b.append(lastErrors.values); b.append(lastErrors.isNull)
        b.append(createdAt); b.append(updatedAt)
        b.append(supersededBy.values); b.append(supersededBy.isNull)
        b.append(orderRefs.values); b.append(orderRefs.isNull); b.append(orderSeqs.values); b.append(orderSeqs.isNull)
    }
}

/// `attempts` columns with their ids (`log copy`).
struct AttemptColumns: UnnestColumns {
    static let table = "attempts"
    static let insertColumns = "id, delivery_id, number, started_at_ms, duration_ms, status_code, error, response_snippet"
    static let select = """
        SELECT id, delivery_id, number, started_at_ms, duration_ms, CASE WHEN status_null THEN NULL ELSE status_code END,
               CASE WHEN error_null THEN NULL ELSE error END, CASE WHEN snippet_null THEN NULL ELSE response_snippet END
        FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::bool[], $8::text[], $9::bool[],
                    $10::bytea[], $11::bool[])
             AS r(id, delivery_id, number, started_at_ms, duration_ms, status_code, status_null, error, error_null,
                  response_snippet, snippet_null)
        """

    private var ids: [Int64] = []
    var count: Int { ids.count }
    private var deliveryIDs: [Int64] = []
    private var numbers: [Int64] = []
    private var startedAt: [Int64] = []
    private var durations: [Int64] = []
    private var statusCodes = NullableColumn<Int64>(placeholder: 0)
    private var errors = NullableColumn<String>(placeholder: "")
    private var snippets = NullableColumn<ByteBuffer>(placeholder: ByteBuffer())

    init(_ rows: [LogCopyAttempt]) {
        for row in rows {
            ids.append(row.id)
            deliveryIDs.append(row.deliveryID)
            numbers.append(row.number)
            startedAt.append(row.startedAtMilliseconds)
            durations.append(row.durationMilliseconds)
            statusCodes.append(row.statusCode)
            errors.append(row.error)
            snippets.append(row.responseSnippet.map { ByteBuffer(bytes: $0) })
        }
    }

    func bind(_ b: inout PostgresBindings) {
        b.append(ids); b.append(deliveryIDs); b.append(numbers); b.append(startedAt); b.append(durations)
        b.append(statusCodes.values); b.append(statusCodes.isNull)
        b.append(errors.values); b.append(errors.isNull)
        b.append(snippets.values); b.append(snippets.isNull)
    }
}

/// `event_revisions` columns (`log copy`).
struct RevisionColumns: UnnestColumns {
    static let table = "event_revisions"
    static let insertColumns = "event_id, revision, type, envelope, replaced_at_ms"
    static let select = "SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::bytea[], $5::int8[])"

    private var eventIDs: [String] = []
    var count: Int { eventIDs.count }
    private var revisions: [Int64] = []
    private var types: [String] = []
    private var envelopes: [ByteBuffer] = []
    private var replacedAt: [Int64] = []

    init(_ rows: [LogCopyEventRevision]) {
        for row in rows {
            eventIDs.append(row.eventID.rawValue)
            revisions.append(row.revision)
            types.append(row.type)
            envelopes.append(ByteBuffer(bytes: row.envelope))
            replacedAt.append(row.replacedAtMilliseconds)
        }
    }

    func bind(_ b: inout PostgresBindings) {
        b.append(eventIDs); b.append(revisions); b.append(types); b.append(envelopes); b.append(replacedAt)
    }
}

/// Every `orders` column, id included (`log copy`). Key text goes through
/// `postgresText`, as when ingest creates the row.
struct OrderColumns: UnnestColumns {
    static let table = "orders"
    static let insertColumns = """
        id, provider, order_id, state, amount, currency, expected_amount, expected_currency, first_seen_ms, last_seen_ms, last_event_id,
        event_count, mismatch_count, ledger, created_at_ms, updated_at_ms
        """
    static let select = """
        SELECT id, provider, order_id, state, CASE WHEN amount_null THEN NULL ELSE amount END,
               CASE WHEN currency_null THEN NULL ELSE currency END, CASE WHEN expected_amount_null THEN NULL ELSE expected_amount END,
               CASE WHEN expected_currency_null THEN NULL ELSE expected_currency END, CASE WHEN first_null THEN NULL ELSE first_seen_ms END,
               CASE WHEN last_null THEN NULL ELSE last_seen_ms END, CASE WHEN event_null THEN NULL ELSE last_event_id END,
               event_count, mismatch_count, ledger, created_at_ms, updated_at_ms
        FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::bool[], $9::text[], $10::bool[],
                    $11::text[], $12::bool[], $13::int8[], $14::bool[], $15::int8[], $16::bool[], $17::text[], $18::bool[], $19::int8[],
                    $20::int8[], $21::text[], $22::int8[], $23::int8[])
             AS r(id, provider, order_id, state, amount, amount_null, currency, currency_null, expected_amount, expected_amount_null,
                  expected_currency, expected_currency_null, first_seen_ms, first_null, last_seen_ms, last_null, last_event_id, event_null,
                  event_count, mismatch_count, ledger, created_at_ms, updated_at_ms)
        """

    private var ids: [Int64] = []
    var count: Int { ids.count }
    private var providers: [String] = []
    private var orderIDs: [String] = []
    private var states: [String] = []
    private var amounts = NullableColumn<String>(placeholder: "")
    private var currencies = NullableColumn<String>(placeholder: "")
    private var expectedAmounts = NullableColumn<String>(placeholder: "")
    private var expectedCurrencies = NullableColumn<String>(placeholder: "")
    private var firstSeen = NullableColumn<Int64>(placeholder: 0)
    private var lastSeen = NullableColumn<Int64>(placeholder: 0)
    private var lastEventIDs = NullableColumn<String>(placeholder: "")
    private var eventCounts: [Int64] = []
    private var mismatchCounts: [Int64] = []
    private var ledgers: [String] = []
    private var createdAt: [Int64] = []
    private var updatedAt: [Int64] = []

    init(_ rows: [LogCopyOrder]) {
        for row in rows {
            ids.append(row.id)
            providers.append(row.provider.postgresText)
            orderIDs.append(row.orderID.postgresText)
            states.append(row.state.postgresText)
            amounts.append(row.amount?.postgresText)
            currencies.append(row.currency?.postgresText)
            expectedAmounts.append(row.expectedAmount?.postgresText)
            expectedCurrencies.append(row.expectedCurrency?.postgresText)
            firstSeen.append(row.firstSeenMilliseconds)
            lastSeen.append(row.lastSeenMilliseconds)
            lastEventIDs.append(row.lastEventID?.postgresText)
            eventCounts.append(row.eventCount)
            mismatchCounts.append(row.mismatchCount)
            ledgers.append(row.ledger.postgresText)
            createdAt.append(row.createdAtMilliseconds)
            updatedAt.append(row.updatedAtMilliseconds)
        }
    }

    func bind(_ b: inout PostgresBindings) {
        b.append(ids); b.append(providers); b.append(orderIDs); b.append(states)
        b.append(amounts.values); b.append(amounts.isNull); b.append(currencies.values); b.append(currencies.isNull)
        b.append(expectedAmounts.values); b.append(expectedAmounts.isNull); b.append(expectedCurrencies.values); b.append(expectedCurrencies.isNull)
        b.append(firstSeen.values); b.append(firstSeen.isNull); b.append(lastSeen.values); b.append(lastSeen.isNull)
        b.append(lastEventIDs.values); b.append(lastEventIDs.isNull)
        b.append(eventCounts); b.append(mismatchCounts); b.append(ledgers); b.append(createdAt); b.append(updatedAt)
    }
}
