import CallbridgeModel
import CallbridgeStore
import NIOCore
import PostgresNIO

/// The columns of an `events` insert as parallel arrays for `unnest`: shared
/// by ingest (`PostgresAppendBatch`) and `log copy` (`importBatch`), so the
/// two write events the same way.
///
/// Invariants: every array has one element per appended row; `bind` adds 13
/// parameters starting at `$1`, in the order `unnest` lists them.
struct EventColumns: Sendable {
    /// `SELECT` list turning the arrays back into an `events` row (NULL masks applied).
    static let insertColumns = "id, type, provider, route, channel, verified, order_id, received_at_ms, dedup_key, envelope, revision"
    static let select = """
        SELECT id, type, provider, route, channel, verified, CASE WHEN order_null THEN NULL ELSE order_id END, received_at_ms,
               CASE WHEN key_null THEN NULL ELSE dedup_key END, envelope, revision
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::bool[],
                    $9::int8[], $10::text[], $11::bool[], $12::bytea[], $13::int8[])
             AS r(id, type, provider, route, channel, verified, order_id, order_null, received_at_ms, dedup_key, key_null, envelope, revision)
        """

    private(set) var ids: [String] = []
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
        ids.append(id)
        types.append(type)
        providers.append(provider)
        routes.append(route)
        channels.append(channel)
        self.verified.append(verified)
        orderIDs.append(orderID)
        self.receivedAt.append(receivedAt)
        dedupKeys.append(dedupKey)
        envelopes.append(ByteBuffer(bytes: envelope))
        revisions.append(revision)
    }

    func bind(_ b: inout PostgresBindings) {
        b.append(ids); b.append(types); b.append(providers); b.append(routes); b.append(channels); b.append(verified)
        b.append(orderIDs.values); b.append(orderIDs.isNull); b.append(receivedAt)
        b.append(dedupKeys.values); b.append(dedupKeys.isNull); b.append(envelopes); b.append(revisions)
    }
}

/// The columns of a `raw_requests` insert as arrays for `unnest` (ingest and
/// `log copy`). Invariant: `bind` adds 9 parameters starting at `$1`.
struct RawRequestColumns: Sendable {
    static let insertColumns = "event_id, method, path, query, headers, body, remote_address, received_at_ms"
    static let select = """
        SELECT event_id, method, path, query, headers, body, CASE WHEN address_null THEN NULL ELSE remote_address END, received_at_ms
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[], $8::bool[], $9::int8[])
             AS r(event_id, method, path, query, headers, body, remote_address, address_null, received_at_ms)
        """

    private(set) var eventIDs: [String] = []
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
        eventIDs.append(eventID)
        methods.append(method)
        paths.append(path)
        queries.append(query)
        self.headers.append(headers)
        bodies.append(ByteBuffer(bytes: body))
        addresses.append(remoteAddress)
        self.receivedAt.append(receivedAt)
    }

    func bind(_ b: inout PostgresBindings) {
        b.append(eventIDs); b.append(methods); b.append(paths); b.append(queries); b.append(headers); b.append(bodies)
        b.append(addresses.values); b.append(addresses.isNull); b.append(receivedAt)
    }
}
