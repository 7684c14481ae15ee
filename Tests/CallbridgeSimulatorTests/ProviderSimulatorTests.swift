import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeSimulator
import Foundation
import Testing

/// The shipped handler folder and the secrets a server would read.
enum Shipped {
    static let handlersDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("handlers").path
    }()

    static let responseKey = "R3sp0nseK3y-test~2026"
    static let nonstopayKey = "nsp_live_test_9c7e2d"
    static let environment: [String: String] = [
        "JUSPAY_WEBHOOK_USERNAME": "cb_juspay_hooks",
        "JUSPAY_WEBHOOK_PASSWORD": "s3cr3t-P@ss:with-colon",
        "JUSPAY_RESPONSE_KEY": responseKey,
        "NONSTOPAY_API_KEY": nonstopayKey,
        "LUXFIN_API_SECRET": "lx_secret_5f1e0c7a",
    ]
    /// 2026-11-23T10:00:00Z
    static let now = Timestamp(secondsSinceEpoch: 1_795_428_000)

    static func handlers(_ environment: [String: String] = environment) throws -> HandlerSet {
        try HandlerDirectoryLoader(directory: handlersDirectory, secrets: SecretSource(environment: environment, readFile: { _ in nil })).load()
    }

    /// Every provider × channel × scenario the simulator supports.
    static let combinations: [(SimulatedProvider, Channel, SimulationScenario)] = SimulatedProvider.allCases.flatMap { provider in
        provider.channels.flatMap { channel in provider.scenarios(on: channel).map { (provider, channel, $0) } }
    }
}

@Suite("Provider simulator")
struct ProviderSimulatorTests {
    let set: HandlerSet
    let simulator: ProviderSimulator

    init() throws {
        set = try Shipped.handlers()
        simulator = ProviderSimulator(handlers: set)
    }

    func build(_ provider: SimulatedProvider, _ scenario: SimulationScenario, _ channel: Channel? = nil, orderID: String = "ord_test_1") throws -> Simulation {
        try simulator.simulation(provider: provider, scenario: scenario, channel: channel,
                                 identifiers: SimulationIdentifiers(orderID: orderID, token: "0123456789abcdef"), now: Shipped.now)
    }

    @Test func supportedCombinationsAreTheDocumentedOnes() {
        #expect(SimulatedProvider.juspay.scenarios(on: .callback) == [.succeeded, .failed, .cancelled, .refunded])
        #expect(SimulatedProvider.juspay.scenarios(on: .redirect) == [.succeeded, .failed, .pending, .refunded])
        #expect(SimulatedProvider.luxfin.channels == [.redirect, .callback])
        #expect(SimulatedProvider.luxfin.scenarios(on: .callback) == [.succeeded, .failed, .pending, .cancelled])
        #expect(SimulatedProvider.luxfin.scenarios(on: .redirect) == [.succeeded, .failed, .pending, .cancelled])
        #expect(SimulatedProvider.nonstopay.scenarios(on: .callback) == SimulationScenario.allCases)
        #expect(SimulatedProvider.nonstopay.scenarios(on: .redirect) == [.succeeded, .failed, .pending, .cancelled])
        #expect(Shipped.combinations.count == 25)
    }

    @Test func defaultChannelIsCallbackWhereTheProviderSendsOne() throws {
        #expect(try build(.juspay, .succeeded).channel == .callback)
        #expect(try build(.juspay, .pending).channel == .redirect)
        #expect(try build(.luxfin, .succeeded).channel == .redirect)
        #expect(try build(.nonstopay, .refunded).channel == .callback)
    }

    /// Every simulated request, run through the shipped route by the real
    /// normalizer, verifies and yields the expected event.
    @Test(arguments: 0..<21)
    func everyCombinationNormalizesToTheExpectedEvent(index: Int) throws {
        let (provider, channel, scenario) = Shipped.combinations[index]
        let simulation = try build(provider, scenario, channel)
        let request = simulation.request
        guard case .route(let route, let parameters) = set.match(method: request.method, path: request.path) else {
            Issue.record("no route for \(request.method) \(request.path)")
            return
        }
        let decision = try Normalizer().normalize(
            route: route, raw: request.rawRequest(receivedAt: Shipped.now), pathParameters: parameters,
            eventID: EventID.generate(millisecondsSinceEpoch: 1_795_428_000_000), now: Shipped.now
        )
        guard case .accept(let normalized) = decision else {
            Issue.record("\(provider) \(channel) \(scenario): rejected: \(decision)")
            return
        }
        let event = normalized.event
        let expected = simulation.expected
        #expect(event.type == expected.type, "\(provider) \(channel) \(scenario)")
        #expect(event.data.provider == expected.provider)
        #expect(event.data.route == expected.route)
        #expect(event.data.channel == channel)
        #expect(expected.channel == channel)
        #expect(event.data.verified == expected.verified)
        #expect(event.data.orderID == "ord_test_1")
        #expect(expected.verified == (provider == .juspay || channel == .callback))
    }

    @Test func juspayReturnVerifiesWithTheResponseKeyAndCarriesTheSignatureDoubleEncoded() throws {
        let simulation = try build(.juspay, .succeeded, .redirect, orderID: "ord 20261123/0001")
        let request = simulation.request
        #expect(request.method == "GET")
        #expect(request.path == "/juspay/return")
        let params = try #require(FormURLEncoding.parse(request.query))
        #expect(params.first { $0.0 == "status" }?.1 == "CHARGED")
        #expect(params.first { $0.0 == "status_id" }?.1 == "21")
        #expect(params.first { $0.0 == "order_id" }?.1 == "ord 20261123/0001")
        #expect(params.first { $0.0 == "signature_algorithm" }?.1 == "HMAC-SHA256")
        // After the query string is decoded the signature is still percent-encoded, as Juspay sends it.
        let signature = try #require(params.first { $0.0 == "signature" }?.1)
        let expected = JuspayReturnVerifier.signature(params: params, key: Shipped.responseKey)
        #expect(FormURLEncoding.decode(signature, plusAsSpace: false) == expected)
        if expected.contains("=") || expected.contains("+") || expected.contains("/") { #expect(signature != expected) }

        let inbound = InboundRequest(raw: request.rawRequest(receivedAt: Shipped.now), params: params)
        #expect(JuspayReturnVerifier(responseKeys: [Shipped.responseKey]).verify(inbound, now: Shipped.now) == .passed)
        #expect(JuspayReturnVerifier(responseKeys: ["another-key"]).verify(inbound, now: Shipped.now) == .failed(.badSignature))
    }

    @Test func nonstopaySignatureIsHexHMACSHA256OfTheBodyWithTheAPIKey() throws {
        let request = try build(.nonstopay, .succeeded).request
        let signature = try #require(request.headers.first { $0.0 == "X-Signature" }?.1)
        #expect(signature == ByteEncoding.hex(HMAC.authenticate(.sha256, key: Array(Shipped.nonstopayKey.utf8), message: request.body)))
        let verifier = HMACVerifier(algorithm: .sha256, encoding: .hex, location: .header("X-Signature"), secrets: [Shipped.nonstopayKey])
        let inbound = InboundRequest(raw: request.rawRequest(receivedAt: Shipped.now))
        #expect(verifier.verify(inbound, now: Shipped.now) == .passed)
        // The nested shape: invoice_id at the top, the rest under data.
        let body = try JSONParser().parse(request.body)
        #expect(body["invoice_id"]?.stringValue?.hasPrefix("inv_") == true)
        #expect(body.value(atPath: "data.status") == .string("invoice:paid"))
        #expect(body.value(atPath: "data.devise") == .string("EUR"))
        #expect(body.value(atPath: "data.amount") == .string("49.90"))
        #expect(body.value(atPath: "data.datetime")?.stringValue?.count == 19)
    }

    @Test func juspayWebhookCarriesBasicAuthAndTheOrderPayload() throws {
        let request = try build(.juspay, .refunded).request
        let authorization = try #require(request.headers.first { $0.0 == "Authorization" }?.1)
        #expect(authorization == "Basic " + ByteEncoding.base64(Array("cb_juspay_hooks:s3cr3t-P@ss:with-colon".utf8)))
        let body = try JSONParser().parse(request.body)
        #expect(body["event_name"] == .string("ORDER_REFUNDED"))
        #expect(body.value(atPath: "content.order.order_id") == .string("ord_test_1"))
        #expect(body.value(atPath: "content.order.amount") == .number("100.00"))
        #expect(body.value(atPath: "content.order.refunds.0.status") == .string("SUCCESS"))
    }

    @Test func nonstopayReturnsUseTheFourReturnPaths() throws {
        #expect(try build(.nonstopay, .succeeded, .redirect).request.path == "/nonstopay/return/success")
        #expect(try build(.nonstopay, .failed, .redirect).request.path == "/nonstopay/return/failure")
        #expect(try build(.nonstopay, .pending, .redirect).request.path == "/nonstopay/return/pending")
        #expect(try build(.nonstopay, .cancelled, .redirect).request.path == "/nonstopay/return/cancel")
    }

    @Test func unsupportedScenariosAndChannelsAreClearErrors() {
        #expect(throws: SimulationError.unsupportedScenario(.luxfin, .refunded, nil)) { try build(.luxfin, .refunded) }
        #expect(throws: SimulationError.unsupportedScenario(.nonstopay, .refunded, .redirect)) { try build(.nonstopay, .refunded, .redirect) }
        #expect(throws: SimulationError.unsupportedScenario(.luxfin, .refunded, .callback)) { try build(.luxfin, .refunded, .callback) }
        let message = SimulationError.unsupportedScenario(.nonstopay, .refunded, .redirect).description
        #expect(message.contains("nonstopay has no 'refunded' scenario on the redirect channel"))
        #expect(message.contains("callback: succeeded, failed, pending, cancelled, refunded"))
    }

    @Test func aMissingSecretNamesTheVariable() throws {
        var environment = Shipped.environment
        environment["NONSTOPAY_API_KEY"] = nil
        let simulator = ProviderSimulator(handlers: try Shipped.handlers(environment))
        #expect(throws: SimulationError.missingSecret(route: "nonstopay/callback", reference: "${NONSTOPAY_API_KEY}")) {
            try simulator.simulation(provider: .nonstopay, scenario: .succeeded, identifiers: SimulationIdentifiers(orderID: "o", token: "t"), now: Shipped.now)
        }
        let message = SimulationError.missingSecret(route: "nonstopay/callback", reference: "${NONSTOPAY_API_KEY}").description
        #expect(message.hasPrefix("NONSTOPAY_API_KEY is not set"))
        // Unsigned returns need no secret.
        #expect(throws: Never.self) {
            try simulator.simulation(provider: .nonstopay, scenario: .succeeded, channel: .redirect, identifiers: SimulationIdentifiers(orderID: "o", token: "t"), now: Shipped.now)
        }
    }

    @Test func randomIdentifiersDifferPerRunUnlessTheOrderIDIsFixed() {
        let a = SimulationIdentifiers.random(for: .juspay)
        let b = SimulationIdentifiers.random(for: .juspay)
        #expect(a.orderID != b.orderID)
        #expect(a.token != b.token)
        let luxfin = SimulationIdentifiers.random(for: .luxfin).orderID
        #expect(luxfin.allSatisfy { $0.isNumber })
        #expect(SimulationIdentifiers.random(for: .nonstopay, orderID: "fixed").orderID == "fixed")
    }

    @Test func transportRequestJoinsTheBaseURLAndTarget() throws {
        let request = try build(.luxfin, .succeeded).request
        let transport = request.transportRequest(baseURL: "http://127.0.0.1:8080/")
        #expect(transport.url.hasPrefix("http://127.0.0.1:8080/luxfin/return?order_id=ord_test_1&"))
        #expect(transport.method == "GET")
        #expect(transport.body.isEmpty)
    }
}
