import GRDB

extension Database {
    /// Runs `body` for each item in its own savepoint inside the current
    /// transaction: the isolation every group commit relies on. A failing
    /// item rolls back only its own savepoint and yields `.failure`; if SQLite
    /// aborted the whole transaction (disk full, I/O), the error is rethrown,
    /// because then no item of the batch survives.
    func eachInSavepoint<Item, Output>(_ items: [Item], _ body: (Item) throws -> Output) throws -> [Result<Output, any Error>] {
        var results: [Result<Output, any Error>] = []
        results.reserveCapacity(items.count)
        for item in items {
            do {
                var output: Output?
                try inSavepoint {
                    output = try body(item)
                    return .commit
                }
                // Always set once inSavepoint returns; GRDB gives no other way to carry it out.
                guard let output else { throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "savepoint body produced no result") }
                results.append(.success(output))
            } catch {
                guard isInsideTransaction else { throw error }
                results.append(.failure(error))
            }
        }
        return results
    }
}
