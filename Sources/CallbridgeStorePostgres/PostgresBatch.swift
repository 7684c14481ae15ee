import PostgresNIO

/// The failure isolation of every PostgreSQL group commit: a batch is first
/// written in one transaction; if that transaction fails, each item is
/// written again in a transaction of its own, so a bad item fails alone and
/// the good ones are still stored.
enum PostgresBatch {
    static func isolating<Item: Sendable, Output: Sendable>(
        _ items: [Item], write: ([Item]) async throws -> [Output]
    ) async -> [Result<Output, any Error>] {
        do {
            return try await write(items).map { .success($0) }
        } catch {
            guard items.count > 1 else { return [.failure(error)] }
        }
        var results: [Result<Output, any Error>] = []
        results.reserveCapacity(items.count)
        for item in items {
            do {
                let outputs = try await write([item])
                results.append(outputs.first.map { .success($0) } ?? .failure(PostgresEventLogError.database("no result for a batch item")))
            } catch {
                results.append(.failure(error))
            }
        }
        return results
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
