import CallbridgeStore
import PostgresNIO

extension PostgresEventLog {
    /// LISTENs on `callbridge_deliveries` on one pooled connection and calls
    /// `onDeliveries` for every notification, and once each time listening
    /// (re)starts, since anything committed while not listening was missed.
    /// Reconnects a second after a failure; returns when the task is cancelled.
    public func watchDeliveries(_ onDeliveries: @escaping @Sendable () -> Void) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.deliveriesChannel) { notifications in
                        failures = 0
                        onDeliveries()
                        for try await _ in notifications { onDeliveries() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if failures == 1 || failures % 60 == 0 {
                    logger.warning("LISTEN for new deliveries failed; polling until it is back", metadata: [
                        "error": "\(PostgresErrorText.describe(error))", "failures": "\(failures)",
                    ])
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
