import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

/// Every documented provider sample under `Fixtures/<provider>/` (sources in
/// each folder's SOURCES.md) through the shipped handler: the type and every
/// extracted field.
@Suite("Provider samples")
struct ProviderSampleTests {
    /// One sample and what the shipped handler must make of it; a nil field must be absent.
    struct Sample: Sendable, CustomTestStringConvertible {
        var fixture: String
        var type: EventType
        var fields: [EventField: String?]
        var testDescription: String { fixture }
    }

    static let samples: [Sample] = [
        Sample(fixture: "juspay/order_succeeded.json", type: .paymentSucceeded, fields: [
            .orderID: "ord_1234", .transactionID: "shopexample-ord_1234-1", .providerEventID: "evt_V2_b737837102414514ae0e9717a9f2664d",
            .providerStatus: "CHARGED", .amount: "100.00", .orderAmount: "100.00", .currency: "USD", .customer: "test@example.com",
            .occurredAt: "2026-11-23T09:59:58Z", .refundID: nil,
        ]),
        Sample(fixture: "juspay/txn_charged.json", type: .paymentSucceeded, fields: [
            .orderID: "ord_9876", .transactionID: "shopexample-ord_9876-1", .providerStatus: "CHARGED", .amount: "2599.50",
            .orderAmount: nil, .currency: "INR", .occurredAt: "2026-11-23T10:04:11Z", .refundID: nil,
        ]),
        Sample(fixture: "juspay/order_refunded_two_refunds.json", type: .refundSucceeded, fields: [
            .orderID: "ord_1234", .providerStatus: "CHARGED", .amount: "25.00", .refundID: "rfnd_second_02", .orderAmount: "100.00",
            .currency: "USD", .customer: nil,
        ]),
        Sample(fixture: "juspay/refund_initiated.json", type: .refundPending, fields: [
            .orderID: "ord_1234", .amount: "5.00", .refundID: "rfnd_third_03", .orderAmount: "100.00", .currency: "USD",
        ]),
        Sample(fixture: "juspay/order_updated.json", type: .paymentAuthorized, fields: [
            .orderID: "ord_5555", .providerStatus: "AUTHORIZED", .amount: "62742.33", .currency: "INR", .customer: nil,
        ]),
        Sample(fixture: "juspay/mandate_created.json", type: .unmapped, fields: [
            .orderID: nil, .providerStatus: "CREATED", .amount: nil, .providerEventID: "evt_V2_1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f",
        ]),
        Sample(fixture: "luxfin/webhook_success.json", type: .paymentSucceeded, fields: [
            .orderID: "1048576", .providerStatus: "SUCCESS", .amount: "25.50", .currency: nil,
        ]),
        Sample(fixture: "luxfin/webhook_pending_string_id.json", type: .paymentPending, fields: [
            .orderID: "1048577", .providerStatus: "PENDING", .amount: "10", .currency: nil,
        ]),
        Sample(fixture: "nonstopay/invoice_paid.json", type: .paymentSucceeded, fields: [
            .orderID: "A-20261123-0042", .transactionID: "inv_6b1d0f2a9c", .providerStatus: "invoice:paid", .amount: "49.90",
            .currency: "EUR", .customer: "buyer@example.com", .occurredAt: "2026-11-23T09:59:58Z",
        ]),
        Sample(fixture: "nonstopay/callback_nested.json", type: .paymentSucceeded, fields: [
            .orderID: nil, .transactionID: "inv_7c2e1a9d", .providerStatus: "invoice:paid", .amount: "15.04", .currency: "USD",
            .occurredAt: "2023-04-12T19:09:48Z",
        ]),
        Sample(fixture: "nonstopay/callback_waiting_upper.json", type: .paymentPending, fields: [
            .transactionID: "inv_7c2e1a9e", .providerStatus: "WAITING", .amount: "15.04", .currency: "EUR", .occurredAt: "2023-04-12T19:10:02Z",
        ]),
    ]

    /// The request the provider sends for a fixture body, correctly authenticated.
    static func request(for fixture: String, body: [UInt8]) -> RawRequest {
        var headers = [("Content-Type", "application/json")]
        let path: String
        switch fixture.split(separator: "/").first {
        case "juspay":
            path = "/juspay/webhook"
            headers.append(("Authorization", Support.basicAuth(Support.juspayUser, Support.juspayPassword)))
        case "luxfin":
            path = "/luxfin/webhook"
            headers.append(("X-Luxfintech-Signature", ByteEncoding.hex(HMAC.authenticate(.sha256, key: Array(Support.luxfinSecret.utf8), message: body))))
        default:
            path = "/nonstopay/callback"
            headers.append(("X-Signature", ByteEncoding.hex(HMAC.authenticate(.sha256, key: Array(Support.nonstopayKey.utf8), message: body))))
        }
        return Support.request("POST", path, headers: headers, body: body)
    }

    static func text(_ field: EventField, of data: EventData) -> String? {
        switch field {
        case .orderID: return data.orderID
        case .transactionID: return data.transactionID
        case .providerEventID: return data.providerEventID
        case .providerStatus: return data.providerStatus
        case .amount: return data.amount?.text
        case .currency: return data.currency?.code
        case .customer: return data.customer
        case .occurredAt: return data.occurredAt?.rfc3339
        case .refundID: return data.refundID
        case .orderAmount: return data.orderAmount?.text
        }
    }

    @Test("each documented sample gives its type and every field", arguments: samples)
    func sample(_ sample: Sample) throws {
        let set = try Support.handlers()
        let body = try Support.fixture(sample.fixture)
        let normalized = try Support.accepted(try Support.run(set, Self.request(for: sample.fixture, body: body)))
        #expect(normalized.event.type == sample.type)
        #expect(normalized.event.data.verified)
        for (field, expected) in sample.fields {
            #expect(Self.text(field, of: normalized.event.data) == expected, "\(field.rawValue)")
        }
    }

    @Test("every sample file in the fixture folders is in the table")
    func tableCoversFixtures() throws {
        let base = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        var files: Set<String> = []
        for provider in ["juspay", "luxfin", "nonstopay"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: base.appendingPathComponent(provider).path) where name.hasSuffix(".json") {
                files.insert("\(provider)/\(name)")
            }
        }
        // Not events: the JWT body is refused, the status answers are API responses (StatusAPISpecTests), the card sample is a masking fixture.
        let notEvents: Set<String> = ["juspay/jwt_webhook.json", "luxfin/status_success.json", "nonstopay/invoice_paid_with_card.json",
                                      "juspay/order_status.json", "nonstopay/invoice_status.json"]
        #expect(files.subtracting(notEvents) == Set(Self.samples.map(\.fixture)))
    }

    @Test("a JWT webhook body is refused with 422 naming JWT webhooks, and nothing is accepted")
    func jwtRefused() throws {
        let set = try Support.handlers()
        let error = Support.ingestError(set, Self.request(for: "juspay/jwt_webhook.json", body: try Support.fixture("juspay/jwt_webhook.json")))
        #expect(error?.status == 422)
        #expect(error?.code == "unsupported_payload")
        #expect(error?.detail.contains("JWT webhooks") == true)
    }

    @Test("a JWT body without valid credentials is refused with 401 first")
    func jwtNeedsCredentials() throws {
        let set = try Support.handlers()
        let raw = Support.request("POST", "/juspay/webhook", headers: [("Content-Type", "application/json"), ("Authorization", Support.basicAuth("x", "y"))],
                                  body: try Support.fixture("juspay/jwt_webhook.json"))
        #expect(Support.ingestError(set, raw)?.status == 401)
    }

    @Test("a refund with no refunds[] entry of its status has no amount rather than the order's")
    func refundWithoutMatchingEntry() throws {
        let set = try Support.handlers()
        let text = try Support.fixtureText("juspay/order_refunded_two_refunds.json").replacing("\"SUCCESS\"", with: "\"PENDING\"")
        let body = Array(text.utf8)
        let data = try Support.accepted(try Support.run(set, Self.request(for: "juspay/x.json", body: body))).event.data
        #expect(data.amount == nil)
        #expect(data.refundID == nil)
        #expect(data.orderAmount?.text == "100.00")
    }

    @Test("refund.failed reads the FAILURE entry, not an earlier SUCCESS one")
    func refundFailedEntry() throws {
        let set = try Support.handlers()
        let text = try Support.fixtureText("juspay/order_refunded_two_refunds.json")
            .replacing("\"ORDER_REFUNDED\"", with: "\"ORDER_REFUND_FAILED\"")
            .replacing(#""amount": 25.00, "status": "SUCCESS""#, with: #""amount": 25.00, "status": "FAILURE""#)
        let data = try Support.accepted(try Support.run(set, Self.request(for: "juspay/x.json", body: Array(text.utf8)))).event
        #expect(data.type == .refundFailed)
        #expect(data.data.amount?.text == "25.00")
        #expect(data.data.refundID == "rfnd_second_02")
    }

    @Test("the Luxfin webhook signature verifies with and without the sha256= prefix, upper or lower hex", arguments: [
        "", "sha256=", "SHA256=",
    ])
    func luxfinPrefixes(prefix: String) throws {
        let set = try Support.handlers()
        let body = try Support.fixture("luxfin/webhook_success.json")
        let hex = ByteEncoding.hex(HMAC.authenticate(.sha256, key: Array(Support.luxfinSecret.utf8), message: body))
        for signature in [prefix + hex, prefix + hex.uppercased()] {
            let raw = Support.request("POST", "/luxfin/webhook", headers: [("Content-Type", "application/json"), ("X-Luxfintech-Signature", signature)], body: body)
            let normalized = try Support.accepted(try Support.run(set, raw))
            #expect(normalized.event.data.verification == .hmac)
            #expect(normalized.dedupKey == "webhook:1048576:SUCCESS")
            #expect(normalized.raw.header("x-luxfintech-signature") == "[redacted]")
        }
    }

    @Test("a wrong, missing or API-key-signed Luxfin signature is 401")
    func luxfinBadSignature() throws {
        let set = try Support.handlers()
        let body = try Support.fixture("luxfin/webhook_success.json")
        let withAPIKey = ByteEncoding.hex(HMAC.authenticate(.sha256, key: Array("the-bearer-api-key".utf8), message: body))
        for headers in [[("X-Luxfintech-Signature", "sha256=" + withAPIKey)], [("X-Luxfintech-Signature", "sha256=")], []] {
            let raw = Support.request("POST", "/luxfin/webhook", headers: [("Content-Type", "application/json")] + headers, body: body)
            #expect(Support.ingestError(set, raw)?.status == 401)
        }
    }

    @Test("the Luxfin IP allow-list is off by default and on with LUXFIN_WEBHOOK_IP_ALLOWLIST=on")
    func luxfinAllowlist() throws {
        let body = try Support.fixture("luxfin/webhook_success.json")
        let signature = ByteEncoding.hex(HMAC.authenticate(.sha256, key: Array(Support.luxfinSecret.utf8), message: body))
        func raw(from address: String) -> RawRequest {
            Support.request("POST", "/luxfin/webhook", headers: [("Content-Type", "application/json"), ("X-Luxfintech-Signature", signature)],
                            body: body, remote: address)
        }
        let off = try Support.handlers()
        _ = try Support.accepted(try Support.run(off, raw(from: "198.51.100.7")))
        var environment = Support.fullEnvironment
        environment["LUXFIN_WEBHOOK_IP_ALLOWLIST"] = "on"
        let on = try Support.handlers(environment)
        #expect(Support.ingestError(on, raw(from: "198.51.100.7"))?.status == 401)
        _ = try Support.accepted(try Support.run(on, raw(from: "35.172.189.167")))
    }
}
