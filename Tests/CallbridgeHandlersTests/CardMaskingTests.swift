import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

@Suite("Card data masking at ingest")
struct CardMaskingTests {
    let set: HandlerSet

    init() throws {
        set = try Support.handlers()
    }

    static let luhnOrderID = "2026112300042107"

    func signedCallback(_ body: [UInt8]) -> RawRequest {
        let signature = NonStoPayTests.sign(body)
        return Support.request("POST", "/nonstopay/callback", headers: [("Content-Type", "application/json"), ("X-Signature", signature)], body: body)
    }

    @Test("the test data really is Luhn-valid")
    func luhnPreconditions() {
        #expect(CardDataMasker.luhnValid("4111111111111111"))
        #expect(CardDataMasker.luhnValid("4012888888881881"))
        #expect(CardDataMasker.luhnValid(Self.luhnOrderID))
        #expect(!CardDataMasker.luhnValid("4111111111111112"))
    }

    @Test("PANs as a JSON number, a spaced string and a dashed string, and the CVV, never reach the stored body")
    func bodyMasked() throws {
        let body = try Support.fixture("nonstopay/invoice_paid_with_card.json")
        #expect(body.text.contains("4111111111111111"))
        let normalized = try Support.accepted(try Support.run(set, signedCallback(body)))
        let stored = normalized.raw.body.text
        #expect(!stored.contains("4111111111111111"))
        #expect(!stored.contains("4111 1111 1111 1111"))
        #expect(!stored.contains("4012-8888-8888-1881"))
        #expect(!stored.contains("737"))
        #expect(!stored.contains(#"\"pan\":\"4111111111111111\""#))

        let json = try Support.json(normalized.raw.body)
        #expect(json.value(atPath: "card.number") == .string("************1111"))
        #expect(json.value(atPath: "card.display") == .string("**** **** **** 1111"))
        #expect(json.value(atPath: "card.cvv") == .string("***"))
        #expect(json["note"] == .string("paid with ****-****-****-1881 at 10:00"))

        // Everything else is intact.
        let original = try Support.json(body)
        for key in ["id", "invoice_id", "order_id", "status", "amount", "devise", "email", "created_at"] {
            #expect(json[key] == original[key], "member \(key)")
        }
        #expect(json.value(atPath: "card.holder") == .string("Test User"))
        #expect(json.value(atPath: "card.expiry") == .string("12/29"))
        #expect(json.objectMembers?.map(\.0) == original.objectMembers?.map(\.0))
    }

    @Test("a Luhn-valid numeric order id extracted as order_id is not masked, in the event or the stored body")
    func orderIDPreserved() throws {
        let body = try Support.fixture("nonstopay/invoice_paid_with_card.json")
        let normalized = try Support.accepted(try Support.run(set, signedCallback(body)))
        #expect(normalized.event.data.orderID == Self.luhnOrderID)
        #expect(try Support.json(normalized.raw.body)["order_id"] == .string(Self.luhnOrderID))
    }

    @Test("a Luhn-valid numeric order id sent as a JSON number is not masked either")
    func numericOrderIDPreserved() throws {
        let body = try Support.fixture("nonstopay/invoice_paid_with_card.json")
            .replacing("\"order_id\":\"\(Self.luhnOrderID)\"", with: "\"order_id\":\(Self.luhnOrderID)")
        #expect(body.text.contains("\"order_id\":\(Self.luhnOrderID),"))
        let normalized = try Support.accepted(try Support.run(set, signedCallback(body)))
        #expect(normalized.event.data.orderID == Self.luhnOrderID)
        #expect(try Support.json(normalized.raw.body)["order_id"] == .number(Self.luhnOrderID))
    }

    @Test("card data in merchant_data is masked in the event")
    func merchantDataMasked() throws {
        let body = try Support.fixture("nonstopay/invoice_paid_with_card.json")
        let normalized = try Support.accepted(try Support.run(set, signedCallback(body)))
        #expect(normalized.event.data.merchantData == .object([("txId", .string("qktr12eqzg")), ("pan", .string("************1111"))]))
        #expect(!normalized.event.envelopeBytes.text.contains("4111111111111111"))
    }

    @Test("a PAN and CVV in a return's query string are masked while the order id stays")
    func queryMasked() throws {
        let query = "order_id=\(Self.luhnOrderID)&status=success&amount=5.00&currency=USD&card=4111+1111+1111+1111&cvv=737&pan=4111111111111111"
        let normalized = try Support.accepted(try Support.run(set, Support.request("GET", "/luxfin/return", query: query)))
        let stored = normalized.raw.query
        #expect(!stored.contains("4111"))
        #expect(!stored.contains("737"))
        #expect(stored.contains("order_id=\(Self.luhnOrderID)"))
        #expect(stored.contains("status=success"))
        #expect(stored.contains("amount=5.00"))
        #expect(normalized.event.data.orderID == Self.luhnOrderID)
        let pairs = try #require(FormURLEncoding.parse(stored))
        #expect(pairs.first { $0.0 == "cvv" }?.1 == "***")
        #expect(pairs.first { $0.0 == "pan" }?.1 == "************1111")
        #expect(pairs.first { $0.0 == "card" }?.1 == "**** **** **** 1111")
    }

    @Test("a query with nothing to mask is stored byte for byte")
    func cleanQueryUntouched() throws {
        let query = "order_id=100234&status=success&amount=25.00&currency=USD&email=buyer%40example.com"
        let normalized = try Support.accepted(try Support.run(set, Support.request("GET", "/luxfin/return", query: query)))
        #expect(normalized.raw.query == query)
    }

    @Test("a PAN in a POSTed form body is masked")
    func formBodyMasked() throws {
        let form = "order_id=100240&status=paid&card_number=4111-1111-1111-1111&card_cvc=123"
        let raw = Support.request("POST", "/luxfin/return", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form.bytes)
        let normalized = try Support.accepted(try Support.run(set, raw))
        let stored = normalized.raw.body.text
        #expect(!stored.contains("4111-1111-1111-1111"))
        #expect(stored.contains("card_cvc=***") || stored.contains("card_cvc=%2A%2A%2A"))
        #expect(stored.contains("order_id=100240"))
    }

    @Test("Authorization and X-Signature headers are stored as [redacted]")
    func headersRedacted() throws {
        let juspayBody = try Support.fixture("juspay/order_succeeded.json")
        let juspay = Support.request("POST", "/juspay/webhook", headers: [
            ("Content-Type", "application/json"), ("Authorization", Support.basicAuth(Support.juspayUser, Support.juspayPassword)),
            ("Cookie", "session=abc"), ("X-Request-Id", "req-1"),
        ], body: juspayBody)
        let storedJuspay = try Support.accepted(try Support.run(set, juspay)).raw
        #expect(storedJuspay.header("authorization") == "[redacted]")
        #expect(storedJuspay.header("cookie") == "[redacted]")
        #expect(storedJuspay.header("x-request-id") == "req-1")

        let nspBody = try Support.fixture("nonstopay/invoice_paid.json")
        let storedNSP = try Support.accepted(try Support.run(set, signedCallback(nspBody))).raw
        #expect(storedNSP.header("x-signature") == "[redacted]")
        #expect(storedNSP.header("content-type") == "application/json")
    }

    @Test("the masker leaves short digit runs, non-Luhn runs and over-long runs alone")
    func maskerBoundaries() {
        let masker = CardDataMasker()
        #expect(masker.maskText("phone 9999999999, rrn 632819712345") == "phone 9999999999, rrn 632819712345")
        #expect(masker.maskText("4111111111111112") == "4111111111111112")
        #expect(masker.maskText("41111111111111110000000") == "41111111111111110000000")
        #expect(masker.maskText("card:4111111111111111.") == "card:************1111.")
        #expect(CardDataMasker.isCVVField("Card_CVV"))
        #expect(CardDataMasker.isCVVField("security-code"))
        #expect(!CardDataMasker.isCVVField("cvv_attempts_left_total"))
    }
}
