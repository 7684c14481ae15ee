import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// Signed Juspay webhooks as the shipped `handlers/juspay.yaml` accepts them
/// (HTTP Basic with `providerSecrets`), shared by the process-level tests.
enum JuspayWebhook {
    static let authorization = "Basic " + Data("merchant_hooks:s3cret-basic-pass".utf8).base64EncodedString()

    /// An `ORDER_SUCCEEDED` webhook body.
    static func body(id: String, order: Int, dateCreated: String = "2026-11-23T09:59:58Z") -> String {
        #"{"id":"\#(id)","date_created":"\#(dateCreated)","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"ord_\#(order)","status":"CHARGED","amount":10.00,"currency":"EUR"}}}"#
    }

    /// Posts one signed webhook; returns the acked event id, or nil (recorded as an issue) for any other answer.
    static func post(_ client: TestClient, id: String, order: Int) async throws -> String? {
        let response = try await client.post("/juspay/webhook", headers: [
            .authorization: authorization,
            .contentType: "application/json",
        ], body: ByteBuffer(string: body(id: id, order: order)))
        guard response.status == .ok, let eventID = try? JSONParser().parse(Array(buffer: response.body ?? ByteBuffer()))["event_id"]?.stringValue else {
            Issue.record("webhook \(id) answered \(response.status): \(String(buffer: response.body ?? ByteBuffer()))")
            return nil
        }
        return eventID
    }
}

/// Hands the webhook numbers 0..<count to the posting connections, one each,
/// and collects the event ids that were acked.
final class WebhookFeed: Sendable {
    private let state = Mutex((next: 0, acked: [String]()))
    let count: Int

    init(count: Int) { self.count = count }

    func take() -> Int? {
        state.withLock { state in
            guard state.next < count else { return nil }
            defer { state.next += 1 }
            return state.next
        }
    }

    func ack(_ id: String) { state.withLock { $0.acked.append(id) } }
    var acked: [String] { state.withLock { $0.acked } }
    var ackedCount: Int { state.withLock { $0.acked.count } }
}

/// Every event id in the log of the server folder `directory`, read with
/// `callbridge events list --json`, page by page (`--before` the last id);
/// nil, recorded as an issue, if a page is not a JSON array.
func loggedEventIDs(directory: String, environment: [String: String], config: String = "callbridge.yaml") throws -> Set<String>? {
    let page = 5_000
    var ids = Set<String>()
    var before: String?
    while true {
        var arguments = ["events", "list", "--json", "--limit", String(page), "--config", config]
        if let before { arguments += ["--before", before] }
        let list = try runCallbridge(arguments, environment: environment, directory: directory)
        guard list.status == 0, case .array(let events)? = try? JSONParser().parse(list.output.trimmingSpaces()) else {
            Issue.record("events list failed (status \(list.status)): \(list.output.prefix(1000))")
            return nil
        }
        let pageIDs = events.compactMap { $0["id"]?.stringValue }
        ids.formUnion(pageIDs)
        guard pageIDs.count == page, let last = pageIDs.last else { return ids }
        before = last
    }
}
