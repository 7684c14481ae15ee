import CallbridgeModel
import Foundation

@testable import CallbridgeStore

/// A fresh directory under the system temp dir, removed by `cleanUp()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("callbridge-store-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

/// Builds ingest records with every field set, so round-trips check them all.
enum Fixtures {
    static let baseMillis: Int64 = 1_795_428_000_000  // 2026-11-23T10:00:00Z

    static func record(
        provider: String = "juspay",
        type: EventType = .paymentSucceeded,
        dedupKey: String? = nil,
        endpoints: [String] = ["orders"],
        millis: Int64 = baseMillis,
        id: EventID? = nil,
        body: [UInt8]? = nil
    ) -> IngestRecord {
        let eventID = id ?? EventID.generate(millisecondsSinceEpoch: UInt64(millis))
        let received = Timestamp(millisecondsSinceEpoch: millis)
        let data = EventData(
            provider: provider, route: "webhook", channel: .callback, verified: true, verification: .basicAuth,
            orderID: "ord_1234", transactionID: "txn_abc", providerEventID: dedupKey, providerStatus: "CHARGED",
            amount: DecimalAmount("100.00"), currency: CurrencyCode("USD"), customer: "test@example.com",
            merchantData: .object([("txId", .string("qktr12eqzg")), ("n", .number("1.50"))]),
            occurredAt: Timestamp(millisecondsSinceEpoch: millis - 2000), receivedAt: received)
        let event = Event(id: eventID, type: type, timestamp: received, data: data)
        let raw = RawRequest(
            method: "POST", path: "/hooks/\(provider)", query: "a=1&b=%20x&a=2",
            headers: [
                HeaderField(name: "Content-Type", value: "application/json"),
                HeaderField(name: "x-multi", value: "one"),
                HeaderField(name: "x-multi", value: "two \"quoted\" ü"),
            ],
            body: body ?? Array(#"{"id":"\#(dedupKey ?? "none")","amount":100.00}"#.utf8) + [0x00, 0xFF, 0x0A],
            remoteAddress: "203.0.113.7", receivedAt: received)
        return IngestRecord(event: event, raw: raw, dedupKey: dedupKey, endpoints: endpoints)
    }
}

extension AppendOutcome {
    /// Stored (not a duplicate); the outcome's placement and delivery count
    /// are checked apart, where a test cares about them.
    var isStored: Bool {
        if case .stored = self { return true }
        return false
    }

    /// Stored under `id`.
    func isStored(_ id: EventID) -> Bool { isStored && eventID == id }
}
