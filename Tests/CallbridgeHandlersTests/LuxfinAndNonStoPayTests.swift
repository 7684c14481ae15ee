import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

@Suite("Luxfin return")
struct LuxfinReturnTests {
    let set: HandlerSet

    init() throws {
        set = try Support.handlers()
    }

    @Test("a card return with a numeric order id is accepted as an unverified hint")
    func cardReturn() throws {
        let query = try Support.fixtureText("luxfin/return_card.txt").trimmingCharacters(in: .whitespacesAndNewlines)
        let normalized = try Support.accepted(try Support.run(set, Support.request("GET", "/luxfin/return", query: query)))
        let event = normalized.event
        #expect(event.type == .paymentSucceeded)
        #expect(event.data.provider == "luxfin")
        #expect(event.data.channel == .redirect)
        #expect(event.data.verified == false)
        #expect(event.data.verification == VerificationMethod.none)
        #expect(event.data.orderID == "100234")
        #expect(event.data.transactionID == "LXF-7Q2M9K")
        #expect(event.data.providerStatus == "success")
        #expect(event.data.amount?.text == "25.00")
        #expect(event.data.currency?.code == "USD")
        #expect(event.data.customer == "buyer@example.com")
        #expect(event.data.merchantData == .object([("cart", .string("771"))]))
        #expect(normalized.landingURL == "https://shop.example.com/checkout/100234?result=success")
        #expect(normalized.dedupKey != nil)
    }

    @Test("card, PayPal and Venmo returns all arrive on /luxfin/return, by GET or POST", arguments: [
        ("GET", "order_id=100235&status=completed&amount=10.50&currency=USD&payment_method=paypal&token=EC-7AB12345CD678901E", ""),
        ("GET", "order_id=100236&status=approved&amount=7&currency=usd&payment_method=venmo", ""),
        ("POST", "", "order_id=100237&status=paid&amount=99.99&currency=EUR&payment_method=card"),
    ])
    func variants(method: String, query: String, form: String) throws {
        let raw = Support.request(method, "/luxfin/return", query: query,
                                  headers: form.isEmpty ? [] : [("Content-Type", "application/x-www-form-urlencoded")], body: form.bytes)
        guard case .route(let route, _) = set.match(method: method, path: "/luxfin/return") else {
            Issue.record("no route")
            return
        }
        #expect(route.qualifiedName == "luxfin/return")
        let normalized = try Support.accepted(try Support.run(set, raw))
        #expect(normalized.event.type == .paymentSucceeded)
        #expect(normalized.event.data.verified == false)
        #expect(normalized.event.data.orderID?.allSatisfy(\.isNumber) == true)
        #expect(normalized.event.data.amount != nil)
        #expect(normalized.event.data.currency != nil)
    }

    static let statuses: [(String, EventType)] = [
        ("success", .paymentSucceeded), ("succeeded", .paymentSucceeded), ("completed", .paymentSucceeded), ("paid", .paymentSucceeded),
        ("approved", .paymentSucceeded), ("authorized", .paymentAuthorized), ("pending", .paymentPending), ("processing", .paymentPending),
        ("failed", .paymentFailed), ("failure", .paymentFailed), ("declined", .paymentFailed), ("error", .paymentFailed), ("cancel", .paymentCancelled),
        ("cancelled", .paymentCancelled), ("canceled", .paymentCancelled), ("expired", .paymentExpired), ("refunded", .refundSucceeded),
    ]

    @Test("this test's table covers exactly the statuses luxfin.yaml maps")
    func tableCoversHandlerFile() throws {
        let route = try #require(set.route(provider: "luxfin", name: "return"))
        #expect(Set(route.typeMapping.map.keys) == Set(Self.statuses.map(\.0)))
    }

    @Test("each Luxfin status maps to its event type and landing outcome", arguments: statuses)
    func statusMapping(status: String, type: EventType) throws {
        let query = "order_id=100234&status=\(status)&amount=25.00&currency=USD"
        let normalized = try Support.accepted(try Support.run(set, Support.request("GET", "/luxfin/return", query: query)))
        #expect(normalized.event.type == type)
        #expect(normalized.landingURL == "https://shop.example.com/checkout/100234?result=\(type.outcome.rawValue)")
    }

    @Test("status lookup ignores case and an unknown status is unmapped")
    func caseAndUnknown() throws {
        let upper = try Support.accepted(try Support.run(set, Support.request("GET", "/luxfin/return", query: "order_id=1&status=SUCCESS")))
        #expect(upper.event.type == .paymentSucceeded)
        let unknown = try Support.accepted(try Support.run(set, Support.request("GET", "/luxfin/return", query: "order_id=1&status=on_hold")))
        #expect(unknown.event.type == .unmapped)
        #expect(unknown.landingURL == "https://shop.example.com/checkout/1?result=unknown")
    }
}

@Suite("NonStoPay")
struct NonStoPayTests {
    let set: HandlerSet
    let body: [UInt8]

    init() throws {
        set = try Support.handlers()
        body = try Support.fixture("nonstopay/invoice_paid.json")
    }

    static func sign(_ body: [UInt8], key: String = Support.nonstopayKey) -> String {
        ByteEncoding.hex(HMAC.authenticate(.sha256, key: Array(key.utf8), message: body))
    }

    func callback(_ body: [UInt8], signature: String?) -> RawRequest {
        var headers = [("Content-Type", "application/json")]
        if let signature { headers.append(("X-Signature", signature)) }
        return Support.request("POST", "/nonstopay/callback", headers: headers, body: body)
    }

    @Test("the fixture's signature matches a python-computed vector")
    func pythonVector() {
        #expect(Self.sign(body) == "f7823bcb4fd36e86206af4e15a45309c9c69d045cc4dd059b3ec1e4162f324e7")
    }

    @Test("a callback signed with hex HMAC-SHA256 of the raw body is accepted with every field")
    func acceptsSignedCallback() throws {
        let normalized = try Support.accepted(try Support.run(set, callback(body, signature: Self.sign(body))))
        let data = normalized.event.data
        #expect(normalized.event.type == .paymentSucceeded)
        #expect(data.provider == "nonstopay")
        #expect(data.channel == .callback)
        #expect(data.verified)
        #expect(data.verification == .hmac)
        #expect(data.providerEventID == "ntf_8f3a2c1e9b7d4f60")
        #expect(data.transactionID == "inv_6b1d0f2a9c")
        #expect(data.orderID == "A-20261123-0042")
        #expect(data.providerStatus == "invoice:paid")
        #expect(data.amount?.text == "49.90")
        #expect(data.currency?.code == "EUR")
        #expect(data.customer == "buyer@example.com")
        #expect(data.occurredAt == Timestamp(rfc3339: "2026-11-23T09:59:58Z"))
        #expect(data.merchantData == .object([("txId", .string("qktr12eqzg"))]))
        #expect(normalized.raw.header("x-signature") == "[redacted]")
        #expect(normalized.raw.body == body)
    }

    @Test("an uppercase hex signature is accepted too")
    func uppercaseHex() throws {
        _ = try Support.accepted(try Support.run(set, callback(body, signature: Self.sign(body).uppercased())))
    }

    @Test("a bad or missing signature is refused with 401", arguments: [
        "0000000000000000000000000000000000000000000000000000000000000000", "not-hex", "", "sha256=abc",
    ])
    func badSignature(signature: String) {
        #expect(Support.ingestError(set, callback(body, signature: signature))?.status == 401)
    }

    @Test("a signature made with another key, or over a modified body, is refused with 401")
    func wrongKeyOrBody() {
        #expect(Support.ingestError(set, callback(body, signature: Self.sign(body, key: "other")))?.status == 401)
        let modified = body.replacing("49.90", with: "0.01")
        #expect(Support.ingestError(set, callback(modified, signature: Self.sign(body)))?.status == 401)
        #expect(Support.ingestError(set, callback(body, signature: nil))?.status == 401)
    }

    static let statuses: [(String, EventType)] = [
        ("invoice:created", .paymentCreated), ("created", .paymentCreated), ("invoice:opened", .paymentPending), ("opened", .paymentPending),
        ("invoice:unpaid", .paymentPending), ("unpaid", .paymentPending), ("invoice:waiting", .paymentPending), ("waiting", .paymentPending),
        ("invoice:pending", .paymentPending), ("pending", .paymentPending), ("invoice:paid", .paymentSucceeded), ("paid", .paymentSucceeded),
        ("invoice:expired", .paymentExpired), ("expired", .paymentExpired), ("invoice:canceled", .paymentCancelled),
        ("invoice:cancelled", .paymentCancelled), ("canceled", .paymentCancelled), ("cancelled", .paymentCancelled),
        ("invoice:failed", .paymentFailed), ("failed", .paymentFailed), ("invoice:refunded", .refundSucceeded), ("refunded", .refundSucceeded),
        // The history API's upper-case spellings map the same way (mapping ignores case).
        ("PAID", .paymentSucceeded), ("UNPAID", .paymentPending), ("WAITING", .paymentPending), ("OPENED", .paymentPending),
        ("EXPIRED", .paymentExpired), ("CREATED", .paymentCreated), ("INVOICE:PAID", .paymentSucceeded),
    ]

    @Test("this test's table covers exactly the statuses nonstopay.yaml maps")
    func tableCoversHandlerFile() throws {
        let route = try #require(set.route(provider: "nonstopay", name: "callback"))
        #expect(Set(route.typeMapping.map.keys) == Set(Self.statuses.map { $0.0.lowercased() }))
    }

    @Test("each NonStoPay status maps to its event type", arguments: statuses)
    func statusMapping(status: String, type: EventType) throws {
        let payload = body.replacing("invoice:paid", with: status)
        let normalized = try Support.accepted(try Support.run(set, callback(payload, signature: Self.sign(payload))))
        #expect(normalized.event.type == type)
        #expect(normalized.event.data.providerStatus == status)
    }

    @Test("the dedup key is the invoice id and the status, in the flat and the nested shape alike")
    func dedup() throws {
        let paid = try Support.accepted(try Support.run(set, callback(body, signature: Self.sign(body)))).dedupKey
        let refunded = body.replacing("invoice:paid", with: "invoice:refunded")
        let other = try Support.accepted(try Support.run(set, callback(refunded, signature: Self.sign(refunded)))).dedupKey
        #expect(paid == "callback:inv_6b1d0f2a9c:invoice:paid")
        #expect(paid != nil && other != nil && paid != other)
        let nested = Array(#"{"invoice_id":"inv_6b1d0f2a9c","data":{"status":"invoice:paid","amount":"49.90","devise":"EUR"}}"#.utf8)
        #expect(try Support.accepted(try Support.run(set, callback(nested, signature: Self.sign(nested)))).dedupKey == paid)
    }

    @Test("each return path maps to its event type and landing outcome", arguments: [
        ("success", EventType.paymentSucceeded, "success"), ("cancel", .paymentCancelled, "cancel"),
        ("pending", .paymentPending, "pending"), ("failure", .paymentFailed, "failure"),
    ])
    func returns(outcome: String, type: EventType, landingOutcome: String) throws {
        let query = "order_id=A-20261123-0042&invoice_id=inv_6b1d0f2a9c&amount=49.90&devise=EUR&callbackJson=%7B%22txId%22%3A%22qktr12eqzg%22%7D"
        let normalized = try Support.accepted(try Support.run(set, Support.request("GET", "/nonstopay/return/\(outcome)", query: query)))
        #expect(normalized.event.type == type)
        #expect(normalized.event.data.route == "return")
        #expect(normalized.event.data.channel == .redirect)
        #expect(normalized.event.data.verified == false)
        #expect(normalized.event.data.providerStatus == outcome)
        #expect(normalized.event.data.orderID == "A-20261123-0042")
        #expect(normalized.event.data.transactionID == "inv_6b1d0f2a9c")
        #expect(normalized.event.data.amount?.text == "49.90")
        #expect(normalized.event.data.currency?.code == "EUR")
        #expect(normalized.event.data.merchantData == .object([("txId", .string("qktr12eqzg"))]))
        #expect(normalized.landingURL == "https://shop.example.com/checkout/A-20261123-0042?result=\(landingOutcome)")
    }

    @Test("a return path outside success, cancel, pending and failure is not found", arguments: [
        "/nonstopay/return/other", "/nonstopay/return/SUCCESS", "/nonstopay/return", "/nonstopay/return/success/extra",
    ])
    func unknownReturnPath(path: String) {
        guard case .notFound = set.match(method: "GET", path: path) else {
            Issue.record("expected notFound for \(path)")
            return
        }
    }

    @Test("a GET on the callback is method-not-allowed")
    func getOnCallback() {
        guard case .methodNotAllowed(let allowed) = set.match(method: "GET", path: "/nonstopay/callback") else {
            Issue.record("expected methodNotAllowed")
            return
        }
        #expect(allowed == ["POST"])
    }

    @Test("routes of all shipped providers are found and unrelated paths are not")
    func routeTable() {
        #expect(Set(set.routes.map(\.qualifiedName)) == ["juspay/webhook", "juspay/return", "luxfin/webhook", "luxfin/return", "nonstopay/callback", "nonstopay/return"])
        #expect(set.unresolvedSecrets.isEmpty)
        guard case .notFound = set.match(method: "POST", path: "/stripe/webhook") else {
            Issue.record("expected notFound")
            return
        }
    }
}
