import CallbridgeCrypto
import CallbridgeDispatch
import CallbridgeModel
import CallbridgeStore
import CallbridgeStoreSQLite
import CallbridgeTestSupport
import CallbridgeTransport
import Foundation
import Logging

let ordersSecret = "whsec_" + ByteEncoding.base64(Array("orders-endpoint-signing-key-0001".utf8))

/// A dispatcher over a real SQLite log in a temporary folder, sending through
/// real libcurl.
struct DispatchHarness {
    let directory: String
    let log: SQLiteEventLog
    let transport: CurlTransport

    init() throws {
        directory = NSTemporaryDirectory() + "callbridge-dispatch-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        log = try SQLiteEventLog(path: directory + "/log.sqlite")
        transport = try CurlTransport()
    }

    func cleanUp() async {
        await transport.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func endpoint(_ name: String, port: Int, path: String? = nil, schedule: [String] = ["0s", "100ms", "100ms", "100ms"],
                         timeout: String = "5s", maxInFlight: Int = 32) -> EndpointConfig {
        EndpointConfig(
            name: name, url: "http://127.0.0.1:\(port)\(path ?? "/" + name)", secrets: [ordersSecret],
            timeout: ConfigDuration(parsing: timeout)!, retrySchedule: schedule.compactMap(ConfigDuration.init(parsing:)), maxInFlight: maxInFlight
        )
    }

    /// Appends `count` events, each with a delivery to every endpoint named.
    @discardableResult
    func ingest(_ count: Int, to endpoints: [String]) async throws -> [EventID] {
        var ids: [EventID] = []
        for i in 0..<count {
            let now = Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000))
            let id = EventID.generate(millisecondsSinceEpoch: UInt64(now.millisecondsSinceEpoch))
            let data = EventData(provider: "juspay", route: "webhook", channel: .callback, verified: true, verification: .basicAuth,
                                 orderID: "ord_\(i)", amount: DecimalAmount("100.00"), currency: CurrencyCode("USD"), receivedAt: now)
            let event = Event(id: id, type: .paymentSucceeded, timestamp: now, data: data)
            let raw = RawRequest(method: "POST", path: "/juspay/webhook", query: "", headers: [], body: Array("{}".utf8), remoteAddress: nil, receivedAt: now)
            _ = try await log.append(IngestRecord(event: event, raw: raw, dedupKey: nil, endpoints: endpoints))
            ids.append(id)
        }
        return ids
    }

    func dispatcher(_ endpoints: [EndpointConfig], grace: Duration = .seconds(5), breakerThreshold: Int = 50,
                    metrics: DeliveryMetrics = DeliveryMetrics()) throws -> Dispatcher {
        var logger = Logger(label: "dispatch-test")
        logger.logLevel = .warning
        return try Dispatcher(
            log: log, transport: transport, endpoints: endpoints,
            configuration: .init(owner: "test-\(UUID().uuidString.prefix(8))", pollInterval: .milliseconds(50), shutdownGrace: grace,
                                 breakerThreshold: breakerThreshold, breakerCooldown: .seconds(30)),
            logger: logger, clock: { Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)) }, metrics: metrics
        )
    }

    /// Runs `dispatcher` while `body` runs, then shuts it down gracefully.
    func running<T: Sendable>(_ dispatcher: Dispatcher, _ body: @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await dispatcher.run() }
        do {
            let result = try await body()
            dispatcher.beginShutdown()
            try await task.value
            return result
        } catch {
            dispatcher.beginShutdown()
            _ = try? await task.value
            throw error
        }
    }

    func states(_ ids: [EventID]) async throws -> [DeliveryState] {
        var states: [DeliveryState] = []
        for id in ids { states += try await log.deliveries(forEvent: id).map(\.state) }
        return states
    }
}

/// Standard Webhooks verification written independently of WebhookSigner,
/// from the spec: base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), compared
/// against each space-separated "v1," entry.
func standardWebhooksValid(secret: String, id: String, timestamp: String, body: [UInt8], signatureHeader: String) -> Bool {
    guard secret.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.dropFirst("whsec_".count))) else { return false }
    let signed = Array("\(id).\(timestamp).".utf8) + body
    let expected = Data(HMAC.authenticate(.sha256, key: Array(key), message: signed)).base64EncodedString()
    return signatureHeader.split(separator: " ").contains { entry in
        let parts = entry.split(separator: ",", maxSplits: 1)
        return parts.count == 2 && parts[0] == "v1" && parts[1] == expected
    }
}
