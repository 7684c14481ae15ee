import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

/// The shipped handler files' `status_api:` blocks: loaded when their
/// settings are set, off (and saying why) when not; URLs that keep any order
/// id one value; the providers' documented answers read into verified
/// `status_check` events.
@Suite struct StatusAPISpecTests {
    static let environment = Support.fullEnvironment.merging([
        "JUSPAY_API_KEY": "jp-key", "JUSPAY_MERCHANT_ID": "shopexample", "LUXFIN_API_KEY": "lx-key",
        "NONSTOPAY_API_BASE": "https://nsp.example",
    ]) { $1 }

    static func spec(_ provider: String) throws -> StatusAPISpec {
        try #require(try Support.handlers(environment).statusAPI(provider: provider))
    }

    @Test("each provider's status API loads with its documented URL, credentials and headers")
    func shippedSpecs() throws {
        let juspay = try Self.spec("juspay")
        #expect(juspay.urlTemplate == "https://api.juspay.in/orders/{order_id}")
        #expect(juspay.headers.first { $0.name == "authorization" }?.value == "Basic " + Data("jp-key:".utf8).base64EncodedString())
        #expect(juspay.headers.first { $0.name == "x-merchantid" }?.value == "shopexample")
        #expect(juspay.headers.contains { $0.name == "version" })
        #expect(juspay.poll == StatusCheckPolicy.defaultPoll && juspay.afterReturns)
        let luxfin = try Self.spec("luxfin")
        #expect(luxfin.urlTemplate == "https://luxfin.org/payment/status?payment_id={order_id}")
        #expect(luxfin.headers == [HeaderField(name: "authorization", value: "Bearer lx-key")])
        let nonstopay = try Self.spec("nonstopay")
        #expect(nonstopay.urlTemplate == "https://nsp.example/api/invoice/status/?id={transaction_id}")
        #expect(nonstopay.headers == [HeaderField(name: "api-key", value: Support.nonstopayKey)])
        #expect(nonstopay.needsTransactionID)
    }

    @Test("a provider whose key (or base URL) is unset has no status API and names what is missing")
    func unsetIsOff() throws {
        let set = try Support.handlers(Support.fullEnvironment)
        #expect(set.statusAPIs.isEmpty)
        let missing = Dictionary(uniqueKeysWithValues: set.providers.map { ($0.provider, $0.statusAPIUnresolved) })
        #expect(missing["juspay"] == ["${JUSPAY_API_KEY}", "${JUSPAY_MERCHANT_ID}"])
        #expect(missing["luxfin"] == ["${LUXFIN_API_KEY}"])
        #expect(missing["nonstopay"] == ["${NONSTOPAY_API_BASE}"])
        #expect(set.routes.count == (try Support.handlers(Self.environment)).routes.count, "the routes work either way")
    }

    @Test("an order id is one path segment or one query value, whatever it holds", arguments: [
        ("..", "https://api.juspay.in/orders/%2E%2E", "https://luxfin.org/payment/status?payment_id=.."),
        (".", "https://api.juspay.in/orders/%2E", "https://luxfin.org/payment/status?payment_id=."),
        ("../admin?x=1#f%", "https://api.juspay.in/orders/..%2Fadmin%3Fx%3D1%23f%25", "https://luxfin.org/payment/status?payment_id=..%2Fadmin%3Fx%3D1%23f%25"),
        ("1&x=2", "https://api.juspay.in/orders/1%26x%3D2", "https://luxfin.org/payment/status?payment_id=1%26x%3D2"),
        ("a b/é", "https://api.juspay.in/orders/a%20b%2F%C3%A9", "https://luxfin.org/payment/status?payment_id=a%20b%2F%C3%A9"),
    ])
    func encodedURLs(orderID: String, juspayURL: String, luxfinURL: String) throws {
        #expect(try Self.spec("juspay").url(orderID: orderID, transactionID: nil) == juspayURL)
        #expect(try Self.spec("luxfin").url(orderID: orderID, transactionID: nil) == luxfinURL)
        let nonstopay = try Self.spec("nonstopay")
        #expect(nonstopay.url(orderID: "o", transactionID: nil) == nil, "NonStoPay is asked by its invoice id")
        #expect(nonstopay.url(orderID: "o", transactionID: orderID)?.hasPrefix("https://nsp.example/api/invoice/status/?id=") == true)
    }

    @Test("Juspay's Order Status answer (the documented object) becomes a verified payment.succeeded")
    func juspayAnswer() throws {
        let spec = try Self.spec("juspay")
        let body = try Support.fixture("juspay/order_status.json")
        let url = try #require(spec.url(orderID: "ord_1234", transactionID: nil))
        let answer = try spec.answer(url: url, headers: [HeaderField(name: "content-type", value: "application/json"),
                                                         HeaderField(name: "set-cookie", value: "s=1")],
                                     body: body, orderID: "ord_1234", transactionID: nil, eventID: Support.eventID, now: Support.now).get()
        let data = answer.event.data
        #expect(answer.event.type == .paymentSucceeded)
        #expect(data.channel == .statusCheck && data.verification == .providerAPI && data.verified)
        #expect(data.route == "status_check" && data.orderID == "ord_1234" && data.amount?.text == "100.00" && data.currency?.code == "USD")
        #expect(data.transactionID == "shopexample-ord_1234-1" && data.providerStatus == "CHARGED")
        #expect(answer.raw.path == "/orders/ord_1234" && answer.raw.method == "GET")
        #expect(answer.raw.header("set-cookie") == Normalizer.redacted)
        #expect(answer.dedupKey?.hasPrefix("status_check:ord_1234:") == true)
    }

    @Test("Luxfin's status answer (capital-A Amount) and NonStoPay's invoice status are read; NonStoPay's order id comes from the question")
    func luxfinAndNonStoPayAnswers() throws {
        let luxfin = try Self.spec("luxfin")
        let lx = try luxfin.answer(url: "https://luxfin.org/payment/status?payment_id=1048576", headers: [],
                                   body: try Support.fixture("luxfin/status_success.json"), orderID: "1048576", transactionID: nil,
                                   eventID: Support.eventID, now: Support.now).get()
        #expect(lx.event.type == .paymentSucceeded && lx.event.data.amount?.text == "25.50" && lx.event.data.currency?.code == "USD")
        #expect(lx.raw.query == "payment_id=1048576")

        let nonstopay = try Self.spec("nonstopay")
        let nsp = try nonstopay.answer(url: "https://nsp.example/api/invoice/status/?id=185", headers: [],
                                       body: try Support.fixture("nonstopay/invoice_status.json"), orderID: "shop-77", transactionID: "185",
                                       eventID: Support.eventID, now: Support.now).get()
        #expect(nsp.event.type == .paymentSucceeded && nsp.event.data.orderID == "shop-77" && nsp.event.data.transactionID == "185")
        #expect(nsp.event.data.amount?.text == "15.04" && nsp.event.data.currency?.code == "EUR")
    }

    @Test("an answer about another order, without a status, or not JSON is refused (and whether asking again can help)")
    func badAnswers() throws {
        let luxfin = try Self.spec("luxfin")
        func answer(_ body: String, order: String = "1048576") -> StatusAPISpec.AnswerError? {
            if case .failure(let error) = luxfin.answer(url: "https://luxfin.org/payment/status?payment_id=1", headers: [], body: Array(body.utf8),
                                                        orderID: order, transactionID: nil, eventID: Support.eventID, now: Support.now) { return error }
            return nil
        }
        let other = answer(#"{"status":"SUCCESS","data":{"id":7,"Amount":1,"status":"SUCCESS"}}"#)
        #expect(other?.retryable == false && other?.description.contains("another order") == true)
        let noStatus = answer(#"{"error":"50007 invalid API-KEY"}"#)
        #expect(noStatus?.retryable == false)
        #expect(answer("<html>busy</html>")?.retryable == true)
        #expect(answer(#"{"status":"SUCCESS","data":{"id":1048576,"Amount":1,"status":"SUCCESS"}}"#) == nil)
    }

    @Test("status_api is strict: unknown keys, placeholders, bad headers and a missing status field are errors")
    func strictLoading() throws {
        let base = """
        provider: acme
        routes:
          - name: return
            path: /acme/return
            methods: GET
            channel: redirect
            format: params
            verify: {type: none}
            fields: {order_id: param:order}
            type: {from: param:status, map: {ok: payment.succeeded}}
            landing: https://shop.example.com/done
        status_api:
          url: "https://api.acme.example/orders/{order_id}"
          auth: {type: bearer, token: "${ACME_KEY}"}
          fields: {provider_status: json:status}
          type: {from: json:status, map: {paid: payment.succeeded}}
        """
        let loader = HandlerFileLoader(secrets: Support.secrets(["ACME_KEY": "k"]))
        #expect(try loader.load(yaml: base, file: "acme.yaml").statusAPI?.headers == [HeaderField(name: "authorization", value: "Bearer k")])
        let broken: [(String, String)] = [
            ("{order_id}\"", "{order_id}/{event_id}\""),
            ("  fields: {provider_status: json:status}", "  fields: {order_id: json:id}"),
            ("  auth:", "  colour: blue\n  auth:"),
            ("  auth: {type: bearer, token: \"${ACME_KEY}\"}", "  headers: {\"bad header\": x}"),
            ("  auth: {type: bearer, token: \"${ACME_KEY}\"}", "  auth: {type: bearer, token: literal-secret}"),
            ("\"https://api", "\"ftp://api"),
        ]
        for (target, replacement) in broken {
            #expect(throws: ConfigError.self, "\(replacement)") { try loader.load(yaml: base.replacingOccurrences(of: target, with: replacement), file: "acme.yaml") }
        }
    }
}
