import CallbridgeHandlers
import CallbridgeServer
import CallbridgeStorePostgres
import Testing

/// `storage:` selects SQLite or PostgreSQL; a PostgreSQL password is a
/// secret and never sits in the config file.
@Suite struct StorageConfigTests {
    func parse(_ storage: String, environment: [String: String] = [:]) throws(ConfigError) -> CallbridgeConfig {
        try CallbridgeConfig.parse(yaml: "storage:\n\(storage)\n", file: "callbridge.yaml", secrets: SecretSource(environment: environment))
    }

    @Test func aURLWithoutPasswordMayBeWrittenInTheConfig() throws {
        let config = try parse("  postgres: postgres://callbridge@db.internal:5433/events?sslmode=require")
        let url = try PostgresURL(parsing: "postgres://callbridge@db.internal:5433/events?sslmode=require")
        #expect(config.storage == .postgres(url))
        #expect("\(config.storage)" == "postgres://callbridge@db.internal:5433/events?sslmode=require")
    }

    @Test func aURLWithPasswordComesFromTheEnvironmentAndIsNeverPrinted() throws {
        let config = try parse("  postgres: ${CALLBRIDGE_DATABASE_URL}", environment: ["CALLBRIDGE_DATABASE_URL": "postgres://app:hunter2@db/events\n"])
        guard case .postgres(let url) = config.storage else { Issue.record("not postgres: \(config.storage)"); return }
        #expect(url.password == "hunter2")
        #expect(!"\(config.storage)".contains("hunter2"))
    }

    @Test(arguments: [
        ("  postgres: postgres://app:hunter2@db/events", "storage.postgres", "reference it as ${ENV_VAR}"),
        ("  postgres: ${UNSET_DATABASE_URL}", "storage.postgres", "${UNSET_DATABASE_URL} is not set"),
        ("  postgres: postgres://app@db/events?sslmode=sometimes", "storage.postgres", "sslmode must be one of"),
        ("  postgres: mysql://app@db/events", "storage.postgres", "scheme must be postgres://"),
        ("  postgres: postgres://app@db/events\n  sqlite: ./x.sqlite", "storage.postgres", "choose one of sqlite and postgres"),
        ("  postgres: postgres://app@db/events\n  synchronous: full", "storage.synchronous", "applies to sqlite only"),
    ])
    func mistakesAreRefusedWithTheirKey(_ storage: String, _ keyPath: String, _ message: String) {
        do {
            _ = try parse(storage)
            Issue.record("accepted \(storage)")
        } catch {
            #expect(error.keyPath == keyPath)
            #expect(error.message.contains(message), "\(error.message)")
            #expect(error.line != nil)
            #expect(!error.message.contains("hunter2"))
        }
    }
}
