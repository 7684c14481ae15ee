import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server the tests run against: `CALLBRIDGE_TEST_POSTGRES_URL`
/// (set by scripts/test.sh, which starts a throw-away cluster). Each test
/// gets a database of its own, so tests run in parallel without sharing rows.
///
/// Invariant: when `CALLBRIDGE_REQUIRE_POSTGRES=1` and no URL is set,
/// `isAvailable` is still false but `missingButRequired` says so, and the
/// suites record a failure instead of skipping in silence.
public enum TestPostgres {
    /// The admin URL (a superuser on the `postgres` database), if any.
    public static var adminURL: String? {
        let value = ProcessInfo.processInfo.environment["CALLBRIDGE_TEST_POSTGRES_URL"] ?? ""
        return value.isEmpty ? nil : value
    }

    public static var isAvailable: Bool { adminURL != nil }

    /// True when the run demands PostgreSQL (scripts/test.sh) but none is configured.
    public static var missingButRequired: Bool {
        !isAvailable && ProcessInfo.processInfo.environment["CALLBRIDGE_REQUIRE_POSTGRES"] == "1"
    }

    /// Creates an empty database and returns its URL (the admin URL with the
    /// database name replaced).
    public static func createDatabase(prefix: String = "cb_test") async throws -> String {
        guard let admin = adminURL, let components = URLComponents(string: admin) else { throw TestPostgresError.notConfigured }
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        _ = try await withAdminConnection(components) { connection, logger in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        var url = components
        url.path = "/\(name)"
        guard let text = url.string else { throw TestPostgresError.notConfigured }
        return text
    }

    /// Drops a database made by `createDatabase`, closing its connections first.
    public static func dropDatabase(url: String) async {
        guard let admin = adminURL, let components = URLComponents(string: admin),
              let name = URLComponents(string: url)?.path.dropFirst(), !name.isEmpty else { return }
        _ = try? await withAdminConnection(components) { connection, logger in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    /// Runs one SQL statement on a test database and returns the first column of each row as text.
    public static func query(url: String, _ sql: String) async throws -> [String?] {
        guard let components = URLComponents(string: url) else { throw TestPostgresError.notConfigured }
        return try await withAdminConnection(components) { connection, logger in
            var values: [String?] = []
            for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
                values.append(try row.makeRandomAccess()[0].decode(String?.self))
            }
            return values
        }
    }

    @discardableResult
    private static func withAdminConnection<T: Sendable>(_ url: URLComponents, _ body: (PostgresConnection, Logger) async throws -> T) async throws -> T {
        let logger = Logger(label: "test-postgres")
        let configuration = PostgresConnection.Configuration(
            host: url.host ?? "127.0.0.1", port: url.port ?? 5432, username: url.user ?? "postgres", password: url.password,
            database: String(url.path.dropFirst()), tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let result = try await body(connection, logger)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

public enum TestPostgresError: Error {
    case notConfigured
}
