import CallbridgeHandlers
import CallbridgeModel
import Testing

/// Field lists with fallbacks, and values that look like card numbers but are not.
@Suite struct FieldFallbackAndMaskingEdgeTests {
    func juspay(_ body: [UInt8]) -> RawRequest {
        Support.request("POST", "/juspay/webhook", headers: [
            ("Content-Type", "application/json"), ("Authorization", Support.basicAuth(Support.juspayUser, Support.juspayPassword)),
        ], body: body)
    }

    @Test func juspayTransactionEventsReadTheirFieldsFromContentTxn() throws {
        let set = try Support.handlers()
        let event = try Support.accepted(try Support.run(set, juspay(try Support.fixture("juspay/txn_charged.json")))).event
        #expect(event.type == .paymentSucceeded)
        #expect(event.data.orderID == "ord_9876")
        #expect(event.data.transactionID == "shopexample-ord_9876-1")
        #expect(event.data.providerStatus == "CHARGED")
        #expect(event.data.amount?.text == "2599.50")
        #expect(event.data.currency?.code == "INR")
    }

    @Test func aLuhnValidMillisecondTimestampIsKeptAsTheOccurredAtTime() throws {
        // 1795428251478 passes the Luhn check; it is a time here, not a card number.
        #expect(CardDataMasker.luhnValid("1795428251478"))
        let set = try Support.handlers()
        var text = try Support.fixtureText("juspay/order_succeeded.json")
        let dateStart = try #require(text.range(of: #""date_created": ""#))
        let dateEnd = try #require(text[dateStart.upperBound...].firstIndex(of: "\""))
        text.replaceSubrange(dateStart.lowerBound...dateEnd, with: #""date_created": "1795428251478""#)
        let normalized = try Support.accepted(try Support.run(set, juspay(Array(text.utf8))))
        #expect(normalized.event.data.occurredAt == Timestamp(millisecondsSinceEpoch: 1_795_428_251_478))
        #expect(String(decoding: normalized.raw.body, as: UTF8.self).contains("1795428251478"))
    }

    @Test func aCardNumberInFreeTextIsStillMaskedNextToPreservedValues() throws {
        let set = try Support.handlers()
        var text = try Support.fixtureText("juspay/order_succeeded.json")
        let emailStart = try #require(text.range(of: #""customer_email": ""#))
        let emailEnd = try #require(text[emailStart.upperBound...].firstIndex(of: "\""))
        text.replaceSubrange(emailStart.lowerBound...emailEnd, with: #""customer_email": "4111111111111111""#)
        let normalized = try Support.accepted(try Support.run(set, juspay(Array(text.utf8))))
        #expect(normalized.event.data.customer == "************1111")
        #expect(!String(decoding: normalized.raw.body, as: UTF8.self).contains("4111111111111111"))
    }
}
