import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeServer
import CallbridgeStore
import CallbridgeStoreSQLite
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization

/// The repository's root, found from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Secrets the shipped handlers read, as a test environment (never setenv).
let testEnvironment: [String: String] = [
    "JUSPAY_WEBHOOK_USERNAME": "merchant_hooks",
    "JUSPAY_WEBHOOK_PASSWORD": "s3cret-basic-pass",
    "JUSPAY_RESPONSE_KEY": "juspay-response-key-123",
    "NONSTOPAY_API_KEY": "nsp_live_key_abc",
    "CALLBRIDGE_LANDING_BASE": "https://shop.example.com",
    "ORDERS_SECRET": "whsec_" + ByteEncoding.base64(Array("orders-signing-key-32-bytes-long".utf8)),
    "AUDIT_SECRET": "whsec_" + ByteEncoding.base64(Array("audit-signing-key-32-bytes-long!".utf8)),
]

/// A fresh temporary directory, removed by the caller with `cleanUp`.
struct TempDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "callbridge-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// Records every log line in memory so tests can assert what was (not) logged.
final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])

    var all: String { lines.withLock { $0.joined(separator: "\n") } }

    func logger() -> Logger {
        Logger(label: "test") { _ in CapturingHandler(capture: self) }
    }

    struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let text = "\(event.level) \(event.message) \(all.map { "\($0)=\($1)" }.sorted().joined(separator: " "))"
            capture.lines.withLock { $0.append(text) }
        }
    }
}

/// A Callbridge server on an ephemeral loopback port, with a real SQLite log
/// in a temporary directory and the repository's shipped handler files.
struct TestServer {
    let directory: TempDirectory
    let databasePath: String
    let config: CallbridgeConfig
    let handlers: HandlerSet
    let logs = LogCapture()

    init(configYAML: String = "", environment: [String: String] = testEnvironment, handlersDirectory: String = repositoryRoot + "/handlers") throws {
        directory = try TempDirectory()
        databasePath = directory.path + "/callbridge.sqlite"
        let yaml = """
        listen: {host: 127.0.0.1, port: 0}
        storage: {sqlite: \(databasePath)}
        \(configYAML.contains("handlers:") ? "" : "handlers: \(handlersDirectory)")
        \(configYAML)
        """
        let secrets = SecretSource(environment: environment)
        config = try CallbridgeConfig.parse(yaml: yaml, file: "test.yaml", secrets: secrets)
        handlers = try HandlerDirectoryLoader(directory: config.handlersDirectory, secrets: secrets).load()
    }

    /// Runs `body` against the live server, then closes the log. `logger`
    /// replaces the capturing one; `readOnlyLog` opens the log read-only
    /// (after creating it), as a log that refuses writes.
    func run<T: Sendable>(logger: Logger? = nil, readOnlyLog: Bool = false,
                          _ body: @Sendable (any TestClientProtocol, SQLiteEventLog) async throws -> T) async throws -> T {
        let created = try SQLiteEventLog(path: databasePath)
        let log = readOnlyLog ? try SQLiteEventLog.openReadOnly(path: databasePath) : created
        let app = CallbridgeApplication.make(config: config, handlers: handlers, log: log, logger: logger ?? logs.logger())
        return try await app.test(.live) { client in try await body(client, log) }
    }
}

extension TestClientProtocol {
    func post(_ uri: String, json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        if fields[.contentType] == nil { fields[.contentType] = "application/json" }
        return try await executeRequest(uri: uri, method: .post, headers: fields, body: ByteBuffer(string: json))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await executeRequest(uri: uri, method: .get, headers: headers, body: nil)
    }
}

func basicAuth(_ user: String, _ password: String) -> HTTPFields {
    [.authorization: "Basic " + ByteEncoding.base64(Array("\(user):\(password)".utf8))]
}

let juspayAuth = basicAuth("merchant_hooks", "s3cret-basic-pass")

func juspayWebhook(id: String = "evt_V2_b737837102414514ae0e9717a9f2664d", event: String = "ORDER_SUCCEEDED", status: String = "CHARGED",
                   orderID: String = "ord_1234", extraOrderFields: String = "") -> String {
    """
    {"id":"\(id)","date_created":"2026-11-23T09:59:58Z","event_name":"\(event)",
     "content":{"order":{"order_id":"\(orderID)","txn_id":"txn_abc","status":"\(status)","status_id":21,
       "amount":100.00,"currency":"USD","customer_email":"test@example.com","customer_id":"cst_42",
       "udf1":"{\\"txId\\":\\"qktr12eqzg\\"}","udf2":"","payment_method_type":"CARD"\(extraOrderFields)}}}
    """
}

/// Juspay's return signature, computed independently of the code under test
/// (Juspay docs: quote_plus keys and values, sort, join, quote_plus, HMAC-SHA256, base64).
func juspayReturnQuery(_ params: [(String, String)], key: String) -> String {
    func quotePlus(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        return (s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s).replacingOccurrences(of: "%20", with: "+")
    }
    let joined = params.map { (quotePlus($0.0), quotePlus($0.1)) }.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    let mac = HMAC.authenticate(.sha256, key: Array(key.utf8), message: Array(quotePlus(joined).utf8))
    let signature = quotePlus(ByteEncoding.base64(mac))  // Juspay sends it percent-encoded…
    let query = params.map { "\(quotePlus($0.0))=\(quotePlus($0.1))" }.joined(separator: "&")
    return query + "&signature=" + quotePlus(signature) + "&signature_algorithm=HMAC-SHA256"  // …inside a percent-encoded URL
}
