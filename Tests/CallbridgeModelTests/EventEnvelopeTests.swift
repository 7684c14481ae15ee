import CallbridgeModel
import Testing

@Suite("Event envelope")
struct EventEnvelopeTests {
    static func sampleEvent() -> Event {
        let data = EventData(
            provider: "juspay", route: "webhook", channel: .callback, verified: true, verification: .basicAuth,
            orderID: "ord_1234", transactionID: "txn_abc", providerEventID: "evt_V2_b737837102414514ae0e9717a9f2664d",
            providerStatus: "CHARGED", amount: DecimalAmount("100.00"), currency: CurrencyCode("USD"), customer: "test@example.com",
            merchantData: .object([("txId", .string("qktr12eqzg")), ("n", .number("1.50"))]),
            occurredAt: Timestamp(rfc3339: "2026-11-23T09:59:58Z"), receivedAt: Timestamp(rfc3339: "2026-11-23T10:00:00.250Z")!
        )
        return Event(
            id: EventID("evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C")!, type: .paymentSucceeded,
            timestamp: Timestamp(rfc3339: "2026-11-23T10:00:00Z")!, data: data
        )
    }

    @Test("the envelope renders the documented members in order with the amount as a string")
    func rendering() throws {
        let text = String(decoding: Self.sampleEvent().envelopeBytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"id":"evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C","type":"payment.succeeded","timestamp":"2026-11-23T10:00:00Z","data":{"provider":"juspay","route":"webhook","channel":"callback","verified":true,"verification":"basic_auth","order_id":"ord_1234""#))
        #expect(text.contains(#""amount":"100.00","currency":"USD""#))
        #expect(text.contains(#""merchant_data":{"txId":"qktr12eqzg","n":1.50}"#))
        #expect(text.contains(#""received_at":"2026-11-23T10:00:00.250Z","order":null}}"#))
    }

    @Test("render then parse gives back an equal event")
    func roundTrip() throws {
        let event = Self.sampleEvent()
        let parsed = try Event(envelopeBytes: event.envelopeBytes)
        #expect(parsed == event)
        #expect(parsed.envelopeBytes == event.envelopeBytes)
    }

    @Test("an event with every optional field absent renders nulls and round-trips")
    func minimalRoundTrip() throws {
        let event = Event(
            id: EventID.generate(millisecondsSinceEpoch: 1_795_428_000_000), type: .unmapped,
            timestamp: Timestamp(secondsSinceEpoch: 1_795_428_000),
            data: EventData(provider: "luxfin", route: "return", channel: .redirect, verified: false, verification: .none,
                            receivedAt: Timestamp(secondsSinceEpoch: 1_795_428_000))
        )
        let text = String(decoding: event.envelopeBytes, as: UTF8.self)
        #expect(text.contains(#""order_id":null"#))
        #expect(text.contains(#""merchant_data":null"#))
        #expect(try Event(envelopeBytes: event.envelopeBytes) == event)
    }

    @Test("every event type and verification method survives the round trip")
    func allEnumsRoundTrip() throws {
        for type in EventType.allCases {
            for verification in VerificationMethod.allCases {
                var event = Self.sampleEvent()
                event.type = type
                event.data.verification = verification
                event.data.verified = verification != .none
                #expect(try Event(envelopeBytes: event.envelopeBytes) == event)
            }
        }
    }

    @Test("envelopes with a bad member are refused naming the member", arguments: [
        (#"{"id":"nope","type":"payment.succeeded","timestamp":"2026-11-23T10:00:00Z","data":{}}"#, "id"),
        (#"{"id":"evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C","type":"payment.done","timestamp":"2026-11-23T10:00:00Z","data":{}}"#, "type"),
        (#"{"id":"evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C","type":"payment.succeeded","timestamp":"yesterday","data":{}}"#, "timestamp"),
        (#"{"id":"evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C","type":"payment.succeeded","timestamp":"2026-11-23T10:00:00Z"}"#, "data"),
    ])
    func refusesBadEnvelope(text: String, member: String) {
        #expect(throws: EventDecodingError.invalid(member)) { try Event(envelopeBytes: Array(text.utf8)) }
    }

    @Test("a numeric amount in data is refused: amounts are decimal strings")
    func numericAmountRefused() throws {
        var text = String(decoding: Self.sampleEvent().envelopeBytes, as: UTF8.self)
        text = text.replacingOccurrences(of: #""amount":"100.00""#, with: #""amount":100.00"#)
        #expect(throws: EventDecodingError.invalid("data.amount")) { try Event(envelopeBytes: Array(text.utf8)) }
    }

    @Test("each event type has the documented landing outcome")
    func outcomes() {
        #expect(EventType.paymentSucceeded.outcome == .success)
        #expect(EventType.paymentAuthorized.outcome == .success)
        #expect(EventType.paymentFailed.outcome == .failure)
        #expect(EventType.paymentExpired.outcome == .failure)
        #expect(EventType.paymentCancelled.outcome == .cancel)
        #expect(EventType.paymentPending.outcome == .pending)
        #expect(EventType.paymentCreated.outcome == .pending)
        #expect(EventType.unmapped.outcome == .unknown)
    }
}

extension String {
    /// Plain substring replacement without Foundation.
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        var out = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
