import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

@Suite("Juspay webhook")
struct JuspayWebhookTests {
    let set: HandlerSet
    let body: [UInt8]

    init() throws {
        set = try Support.handlers()
        body = try Support.fixture("juspay/order_succeeded.json")
    }

    func webhook(body: [UInt8]? = nil, authorization: String? = Support.basicAuth(Support.juspayUser, Support.juspayPassword),
                 contentType: String? = "application/json") -> RawRequest {
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let authorization { headers.append(("Authorization", authorization)) }
        headers.append(("User-Agent", "Juspay-Webhook/1.0"))
        return Support.request("POST", "/juspay/webhook", headers: headers, body: body ?? self.body)
    }

    @Test("correct Basic auth is accepted and every event field is extracted")
    func acceptsAndExtracts() throws {
        let normalized = try Support.accepted(try Support.run(set, webhook()))
        let event = normalized.event
        #expect(event.id == Support.eventID)
        #expect(event.type == .paymentSucceeded)
        #expect(event.timestamp == Support.now)
        let data = event.data
        #expect(data.provider == "juspay")
        #expect(data.route == "webhook")
        #expect(data.channel == .callback)
        #expect(data.verified == true)
        #expect(data.verification == .basicAuth)
        #expect(data.orderID == "ord_1234")
        #expect(data.transactionID == "shopexample-ord_1234-1")
        #expect(data.providerEventID == "evt_V2_b737837102414514ae0e9717a9f2664d")
        #expect(data.providerStatus == "CHARGED")
        #expect(data.amount?.text == "100.00")
        #expect(data.currency?.code == "USD")
        #expect(data.customer == "test@example.com")
        #expect(data.occurredAt == Timestamp(rfc3339: "2026-11-23T09:59:58Z"))
        #expect(data.receivedAt == Support.now)
        #expect(data.merchantData == .object([("udf1", .string("cart-771")), ("udf2", .string("channel:web"))]))
        #expect(normalized.landingURL == nil)
    }

    @Test("the delivered envelope carries the amount exactly as the JSON literal 100.00")
    func amountLiteralInEnvelope() throws {
        let normalized = try Support.accepted(try Support.run(set, webhook()))
        let envelope = normalized.event.envelopeBytes.text
        #expect(envelope.contains(#""amount":"100.00""#))
        // A literal with a different scale stays as written too.
        let other = body.replacing(#""amount": 100.00,"#, with: #""amount": 1999.5,"#)
        #expect(other != body)
        let normalizedOther = try Support.accepted(try Support.run(set, webhook(body: other)))
        #expect(normalizedOther.event.data.amount?.text == "1999.5")
    }

    @Test("swapped user name and password are refused with 401")
    func swappedCredentials() throws {
        let error = Support.ingestError(set, webhook(authorization: Support.basicAuth(Support.juspayPassword, Support.juspayUser)))
        #expect(error?.status == 401)
    }

    @Test("a wrong password is refused with 401", arguments: [
        Support.basicAuth(Support.juspayUser, "wrong"),
        Support.basicAuth(Support.juspayUser, Support.juspayPassword + "x"),
        Support.basicAuth("someone", Support.juspayPassword),
        Support.basicAuth(Support.juspayUser, ""),
        "Basic not-base64!",
        "Bearer " + ByteEncoding.base64(Array("\(Support.juspayUser):\(Support.juspayPassword)".utf8)),
        "Basic " + ByteEncoding.base64(Array("no-colon-here".utf8)),
    ])
    func wrongCredentials(authorization: String) {
        let error = Support.ingestError(set, webhook(authorization: authorization))
        #expect(error?.status == 401)
        #expect(error?.code == "verification_failed")
    }

    @Test("a missing Authorization header is refused with 401")
    func missingHeader() {
        let error = Support.ingestError(set, webhook(authorization: nil))
        #expect(error?.status == 401)
        #expect(error?.detail == VerificationFailure.missingCredentials.detail)
    }

    @Test("the webhook route answers 503 when its credentials are not configured")
    func unconfigured() throws {
        let set = try Support.handlers([:])
        let error = Support.ingestError(set, webhook())
        #expect(error?.status == 503)
        #expect(error?.code == "route_not_configured")
    }

    /// Every event name Juspay documents (Fixtures/juspay/SOURCES.md), with the type it maps to; `nil` is `unmapped` (kept, not in the map).
    static let eventNames: [(String, EventType)] = [
        ("ORDER_CREATED", .paymentCreated), ("ORDER_SUCCEEDED", .paymentSucceeded), ("ORDER_FAILED", .paymentFailed),
        ("ORDER_AUTHORIZED", .paymentAuthorized), ("ORDER_PARTIAL_CHARGED", .paymentSucceeded), ("ORDER_VOIDED", .paymentCancelled),
        ("ORDER_VOID_FAILED", .paymentAuthorized), ("ORDER_CAPTURE_FAILED", .paymentFailed), ("ORDER_COD_INITIATED", .paymentPending),
        ("ORDER_TO_BE_CHARGED", .paymentPending), ("ORDER_REFUNDED", .refundSucceeded), ("ORDER_REFUND_FAILED", .refundFailed),
        ("REFUND_INITIATED", .refundPending), ("REFUND_ARN_CAPTURED", .refundSucceeded), ("REFUND_MANUAL_REVIEW_NEEDED", .refundPending),
        ("AUTO_REFUND_INITIATED", .refundPending), ("AUTO_REFUND_SUCCEEDED", .refundSucceeded), ("AUTO_REFUND_FAILED", .refundFailed),
        ("TXN_CREATED", .paymentCreated), ("TXN_CHARGED", .paymentSucceeded), ("TXN_FAILED", .paymentFailed),
        ("CHARGEBACK_RECEIVED", .disputeOpened), ("CHARGEBACK_UNDER_REVIEW", .disputeOpened), ("CHARGEBACK_EVIDENCE_REQUIRED", .disputeOpened),
        ("CHARGEBACK_RESOLVED_IN_MERCHANT_FAVOUR", .disputeClosed), ("CHARGEBACK_RESOLVED_IN_CUSTOMER_FAVOUR", .disputeClosed),
        ("CHARGEBACK_CANCELED", .disputeClosed), ("CHARGEBACK_ALREADY_REFUNDED", .disputeClosed), ("CHARGEBACK_EXPIRED", .disputeClosed),
        // ORDER_UPDATED defers to the order's status (CHARGED in the fixture).
        ("ORDER_UPDATED", .paymentSucceeded),
        // Mandate and notification events have no type of their own: stored as unmapped.
        ("MANDATE_CREATED", .unmapped), ("MANDATE_ACTIVATED", .unmapped), ("MANDATE_FAILED", .unmapped), ("MANDATE_REVOKED", .unmapped),
        ("MANDATE_PAUSED", .unmapped), ("MANDATE_UNPAUSED", .unmapped), ("MANDATE_UPDATED", .unmapped), ("MANDATE_EXPIRED", .unmapped),
        ("NOTIFICATION_SUCCEEDED", .unmapped), ("NOTIFICATION_FAILED", .unmapped),
    ]

    /// Every order status Juspay documents with its status_id (PARTIAL_CHARGED has none published; PENDING is seen in the wild).
    static let orderStatusIDs: [(String, String?, EventType)] = [
        ("NEW", "10", .paymentCreated), ("STARTED", "20", .paymentPending), ("CHARGED", "21", .paymentSucceeded),
        ("JUSPAY_DECLINED", "22", .paymentFailed), ("PENDING_VBV", "23", .paymentPending), ("VBV_SUCCESSFUL", "24", .paymentPending),
        ("AUTHORIZED", "25", .paymentAuthorized), ("AUTHENTICATION_FAILED", "26", .paymentFailed), ("AUTHORIZATION_FAILED", "27", .paymentFailed),
        ("AUTHORIZING", "28", .paymentPending), ("COD_INITIATED", "29", .paymentPending), ("VOIDED", "31", .paymentCancelled),
        ("VOID_INITIATED", "32", .paymentAuthorized), ("CAPTURE_INITIATED", "33", .paymentAuthorized), ("CAPTURE_FAILED", "34", .paymentFailed),
        ("VOID_FAILED", "35", .paymentAuthorized), ("AUTO_REFUNDED", "36", .refundSucceeded), ("PARTIAL_CHARGED", nil, .paymentSucceeded),
        ("PENDING", nil, .paymentPending),
    ]

    static let orderStatuses: [(String, EventType)] = orderStatusIDs.map { ($0.0, $0.2) }

    @Test("NOT_FOUND (40) is deliberately unmapped: Juspay has no such order")
    func notFoundUnmapped() throws {
        let payload = body
            .replacing(#""event_name": "ORDER_SUCCEEDED","#, with: "")
            .replacing(#""status": "CHARGED""#, with: #""status": "NOT_FOUND""#).replacing(#""status_id": 21"#, with: #""status_id": 40"#)
        #expect(try Support.accepted(try Support.run(set, webhook(body: payload))).event.type == .unmapped)
    }

    @Test("without an event name or status, the status_id decides", arguments: orderStatusIDs.compactMap { row in row.1.map { ($0, row.2) } })
    func statusIDMapping(id: String, type: EventType) throws {
        let payload = body
            .replacing(#""event_name": "ORDER_SUCCEEDED","#, with: "")
            .replacing(#""status": "CHARGED","#, with: "")
            .replacing(#""status_id": 21"#, with: "\"status_id\": \(id)")
        #expect(try Support.accepted(try Support.run(set, webhook(body: payload))).event.type == type)
    }

    @Test("this test's tables cover exactly the statuses juspay.yaml maps")
    func tablesCoverHandlerFile() throws {
        let route = try #require(set.route(provider: "juspay", name: "webhook"))
        let mapped = Self.eventNames.filter { $0.1 != .unmapped && $0.0 != "ORDER_UPDATED" } + Self.orderStatuses
        let expected = Set(mapped.map { $0.0.lowercased() } + Self.orderStatusIDs.compactMap(\.1))
        #expect(Set(route.typeMapping.map.keys) == expected)
        #expect(route.typeMapping.deferred == ["order_updated"])
    }

    @Test("each Juspay event name maps to its event type", arguments: eventNames)
    func eventNameMapping(name: String, type: EventType) throws {
        let payload = body.replacing(#""event_name": "ORDER_SUCCEEDED""#, with: "\"event_name\": \"\(name)\"")
        let normalized = try Support.accepted(try Support.run(set, webhook(body: payload)))
        #expect(normalized.event.type == type)
        #expect(normalized.event.data.providerStatus == "CHARGED")
    }

    @Test("without an event name, each Juspay order status maps to its event type", arguments: orderStatuses)
    func orderStatusMapping(status: String, type: EventType) throws {
        let payload = body
            .replacing(#""event_name": "ORDER_SUCCEEDED","#, with: "")
            .replacing(#""status": "CHARGED""#, with: "\"status\": \"\(status)\"")
        #expect(!payload.text.contains("event_name"))
        let normalized = try Support.accepted(try Support.run(set, webhook(body: payload)))
        #expect(normalized.event.type == type)
        #expect(normalized.event.data.providerStatus == status)
    }

    @Test("an unknown event name gives an unmapped event that is still accepted")
    func unknownEventName() throws {
        let payload = body.replacing(#""event_name": "ORDER_SUCCEEDED""#, with: #""event_name": "MANDATE_CREATED""#)
        let normalized = try Support.accepted(try Support.run(set, webhook(body: payload)))
        #expect(normalized.event.type == .unmapped)
        #expect(normalized.event.data.orderID == "ord_1234")
        #expect(normalized.event.data.verified)
    }

    @Test("the dedup key is derived from the webhook id: same id, same key; other id, other key")
    func dedupKey() throws {
        let first = try Support.accepted(try Support.run(set, webhook()))
        let key = try #require(first.dedupKey)
        #expect(key.hasSuffix("evt_V2_b737837102414514ae0e9717a9f2664d"))
        // A retry of the same event with a different status still dedups on the id.
        let retry = body.replacing(#""event_name": "ORDER_SUCCEEDED""#, with: #""event_name": "ORDER_FAILED""#)
        #expect(try Support.accepted(try Support.run(set, webhook(body: retry))).dedupKey == key)
        let other = body.replacing("evt_V2_b737837102414514ae0e9717a9f2664d", with: "evt_V2_00000000000000000000000000000001")
        let otherKey = try Support.accepted(try Support.run(set, webhook(body: other))).dedupKey
        #expect(otherKey != nil)
        #expect(otherKey != key)
    }

    @Test("malformed JSON is refused with 400", arguments: [
        "{\"id\": \"evt_1\",", "not json", "{\"amount\": 01}", "{} trailing", "",
    ])
    func malformedJSON(text: String) {
        let error = Support.ingestError(set, webhook(body: text.bytes))
        #expect(error?.status == 400)
        #expect(error?.code == "malformed_body")
    }

    @Test("a text/plain body is refused with 415", arguments: ["text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded"])
    func wrongContentType(contentType: String) {
        let error = Support.ingestError(set, webhook(contentType: contentType))
        #expect(error?.status == 415)
        #expect(error?.code == "unsupported_media_type")
    }

    @Test("JSON content types with parameters or a +json suffix are accepted",
          arguments: ["application/json; charset=utf-8", "Application/JSON", "application/vnd.juspay+json"])
    func jsonContentTypes(contentType: String) throws {
        _ = try Support.accepted(try Support.run(set, webhook(contentType: contentType)))
    }

    @Test("the stored raw request has the Authorization header redacted and the body otherwise untouched")
    func storedRaw() throws {
        let normalized = try Support.accepted(try Support.run(set, webhook()))
        #expect(normalized.raw.header("authorization") == "[redacted]")
        #expect(normalized.raw.header("user-agent") == "Juspay-Webhook/1.0")
        #expect(normalized.raw.body == body)
        #expect(!normalized.raw.headers.contains { $0.value.contains(ByteEncoding.base64(Array("\(Support.juspayUser):\(Support.juspayPassword)".utf8))) })
    }

    @Test("a GET on the webhook path is answered method-not-allowed listing POST")
    func methodNotAllowed() {
        guard case .methodNotAllowed(let allowed) = set.match(method: "GET", path: "/juspay/webhook") else {
            Issue.record("expected methodNotAllowed")
            return
        }
        #expect(allowed == ["POST"])
    }
}
