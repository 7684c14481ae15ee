import Foundation
import PostgresNIO

/// The failure isolation of every PostgreSQL group commit: a batch is first
/// written in one transaction; if that transaction fails, it is split in
/// halves and each half written again, down to single items, so a bad item
/// fails alone and the good ones are still stored. One bad item in a batch
/// of n costs about 2·log2(n) extra transactions, not n. An item that fails
/// alone is written once more before its error is returned (a failed
/// transaction wrote nothing, so the retry is safe).
///
/// Invariant: one result per item, in item order.
enum PostgresBatch {
    static func isolating<Item: Sendable, Output: Sendable>(
        _ items: [Item], retriesAlone: Int = 1, write: ([Item]) async throws -> [Output]
    ) async -> [Result<Output, any Error>] {
        guard !items.isEmpty else { return [] }
        do {
            let outputs = try await write(items)
            guard outputs.count == items.count else {
                let error = PostgresEventLogError.database("a batch of \(items.count) gave \(outputs.count) results")
                return items.map { _ in .failure(error) }
            }
            return outputs.map { .success($0) }
        } catch {
            // An item alone is written once more: a transaction another process's commit
            // raced (a dedup key taken between the lookup and the insert) wrote nothing, and
            // the second try sees that commit (a duplicate).
            guard items.count > 1 else {
                guard retriesAlone > 0 else { return [.failure(error)] }
                return await isolating(items, retriesAlone: retriesAlone - 1, write: write)
            }
        }
        let middle = items.count / 2
        return await isolating(Array(items[..<middle]), retriesAlone: retriesAlone, write: write)
            + isolating(Array(items[middle...]), retriesAlone: retriesAlone, write: write)
    }
}

extension String {
    /// This text as PostgreSQL stores it: TEXT cannot hold U+0000, which a
    /// percent-decoded field (`%00`) can carry; it becomes U+FFFD. The event
    /// envelope (BYTEA) keeps the exact value; only the filter columns differ.
    var postgresText: String {
        contains("\u{0}") ? replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : self
    }
}

extension PostgresConnection {
    /// All rows of a prepared statement, decoded.
    func rows<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws -> [Statement.Row] {
        var rows: [Statement.Row] = []
        for try await row in try await execute(statement, logger: logger) { rows.append(row) }
        return rows
    }
}

extension PostgresClient {
    /// All rows of a query, decoded by `decode`.
    func rows<Row>(_ query: PostgresQuery, logger: Logger, _ decode: (PostgresRow) throws -> Row) async throws -> [Row] {
        var rows: [Row] = []
        for try await row in try await self.query(query, logger: logger) { rows.append(try decode(row)) }
        return rows
    }
}

/// Nullable values for `unnest` arrays: postgres-nio encodes no optional
/// array elements, so a column travels as values plus a null mask that the
/// SQL turns back into NULL (`CASE WHEN null THEN NULL ELSE value END`).
struct NullableColumn<Value: PostgresArrayEncodable & PostgresNonThrowingEncodable>: Sendable where Value: Sendable {
    var values: [Value] = []
    var isNull: [Bool] = []
    let placeholder: Value

    init(placeholder: Value) { self.placeholder = placeholder }

    mutating func append(_ value: Value?) {
        values.append(value ?? placeholder)
        isNull.append(value == nil)
    }
}
