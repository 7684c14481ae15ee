import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

/// Values a provider or a browser controls: absurd times are never stored as
/// unreadable timestamps, and order ids placed in URLs cannot move them.
@Suite("Hostile values in provider requests")
struct HostileValueTests {
    let set: HandlerSet
    init() throws { set = try Support.handlers() }

    func juspayWebhook(dateCreated: String) -> RawRequest {
        let body = #"{"id":"evt_V2_x","event_name":"ORDER_SUCCEEDED","date_created":"\#(dateCreated)","content":{"order":{"order_id":"ord_1","status":"CHARGED","amount":10.00,"currency":"EUR"}}}"#
        return Support.request("POST", "/juspay/webhook", headers: [
            ("Content-Type", "application/json"), ("Authorization", Support.basicAuth(Support.juspayUser, Support.juspayPassword)),
        ], body: Array(body.utf8))
    }

    @Test("a time outside years 0001-9999 is stored as no occurred_at, and the event still reads back", arguments: [
        "-100000000000000000", "999999999999999", "9223372036854775807", "-9223372036854775808", "0000-01-01T00:00:00Z", "99999-01-01T00:00:00Z",
    ])
    func absurdTimes(text: String) throws {
        let normalized = try Support.accepted(try Support.run(set, juspayWebhook(dateCreated: text)))
        #expect(normalized.event.data.occurredAt == nil)
        #expect(normalized.event.type == .paymentSucceeded)
        let reread = try Event(envelope: try JSONParser().parse(normalized.event.envelope.renderedBytes()))
        #expect(reread == normalized.event)
    }

    @Test("Unix seconds and milliseconds within the range are kept", arguments: [
        ("1795428000", "2026-11-23T10:00:00Z"), ("1795428000123", "2026-11-23T10:00:00.123Z"), ("-86400", "1969-12-31T00:00:00Z"),
    ])
    func unixTimes(text: String, expected: String) throws {
        let normalized = try Support.accepted(try Support.run(set, juspayWebhook(dateCreated: text)))
        #expect(normalized.event.data.occurredAt?.rfc3339 == expected)
    }

    @Test("an order id that is a dot segment never moves a browser up the landing page's path", arguments: [".", ".."])
    func landingDotSegments(orderID: String) throws {
        let route = try #require(set.route(provider: "luxfin", name: "return"))
        let landing = try #require(route.landing)
        let url = landing.render(orderID: orderID, outcome: .success, eventID: nil)
        #expect(url == "https://shop.example.com/checkout/?result=success")
    }

    @Test("order ids with slashes, queries, fragments, CR/LF and URLs stay one encoded segment of the landing page", arguments: [
        "../admin?x=1#top", "a/b", "x\r\nLocation: https://evil.example", "https://evil.example/", "%2e%2e", "...",
    ])
    func landingEncoded(orderID: String) throws {
        let route = try #require(set.route(provider: "luxfin", name: "return"))
        let url = try #require(route.landing).render(orderID: orderID, outcome: .failure, eventID: nil)
        let parsed = try #require(URLComponents(string: url))
        #expect(parsed.host == "shop.example.com")
        #expect(parsed.percentEncodedPath.hasPrefix("/checkout/"))
        #expect(parsed.percentEncodedPath.dropFirst("/checkout/".count).contains("/") == false)
        #expect(parsed.queryItems == [URLQueryItem(name: "result", value: "failure")])
        #expect(!url.contains("\r") && !url.contains("\n"))
    }

    @Test("a JSON body that is a bare null, string, number or boolean is refused with 400; an array is kept", arguments: [
        ("null", 400), ("\"ORDER_SUCCEEDED\"", 400), ("42", 400), ("true", 400), ("[]", 200), ("[{\"id\":1}]", 200),
    ])
    func bareJSONValues(body: String, status: Int) throws {
        let raw = Support.request("POST", "/juspay/webhook", headers: [
            ("Content-Type", "application/json"), ("Authorization", Support.basicAuth(Support.juspayUser, Support.juspayPassword)),
        ], body: Array(body.utf8))
        let error = Support.ingestError(set, raw)
        #expect((error?.status ?? 200) == status)
        if status == 400 { #expect(error?.code == "malformed_body") }
    }
}
