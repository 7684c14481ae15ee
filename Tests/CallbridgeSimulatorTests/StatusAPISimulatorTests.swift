import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeSimulator
import CallbridgeTransport
import Testing

/// The status API simulator against real libcurl requests on an ephemeral port.
@Suite("Status API simulator")
struct StatusAPISimulatorTests {
    static let juspayCredentials = StatusAPISimulator.Credentials(apiKey: "jp_test_3f9a", merchantID: "shopexample")
    static let luxfinCredentials = StatusAPISimulator.Credentials(apiKey: "lx_api_51c2")
    static let nonstopayCredentials = StatusAPISimulator.Credentials(apiKey: "nsp_api_7d0e")

    /// The headers Callbridge sends to each provider with `credentials`.
    static func authHeaders(_ provider: SimulatedProvider, _ credentials: StatusAPISimulator.Credentials) -> [(String, String)] {
        switch provider {
        case .juspay:
            return [
                ("Authorization", "Basic " + ByteEncoding.base64(Array((credentials.apiKey + ":").utf8))),
                ("x-merchantid", credentials.merchantID ?? ""),
                ("version", "2023-06-30"),
            ]
        case .luxfin: return [("Authorization", "Bearer " + credentials.apiKey)]
        case .nonstopay: return [("API-KEY", credentials.apiKey)]
        }
    }

    static func credentials(_ provider: SimulatedProvider) -> StatusAPISimulator.Credentials {
        switch provider {
        case .juspay: return juspayCredentials
        case .luxfin: return luxfinCredentials
        case .nonstopay: return nonstopayCredentials
        }
    }

    /// The status request for `orderID`, encoded the way a careful caller does.
    static func target(_ provider: SimulatedProvider, _ orderID: String) -> String {
        switch provider {
        case .juspay: return "/orders/" + FormURLEncoding.encodePathSegment(orderID)
        case .luxfin: return "/payment/status?payment_id=" + FormURLEncoding.encodeComponent(orderID)
        case .nonstopay: return "/api/invoice/status/?id=" + FormURLEncoding.encodeComponent(orderID)
        }
    }

    /// One answer: status, parsed JSON body (the test fails if it is not JSON), headers.
    struct Answer {
        var status: Int
        var json: JSONValue
        var response: TransportResponse
    }

    /// A libcurl client for one running simulator.
    struct Client: Sendable {
        let transport: CurlTransport
        let port: Int

        func get(_ target: String, headers: [(String, String)] = [], method: String = "GET", body: [UInt8] = []) async throws -> Answer {
            let request = TransportRequest(
                url: "http://127.0.0.1:\(port)" + target, method: method, headers: headers, body: body,
                timeout: .seconds(20), maxResponseBytes: 1 << 16
            )
            let response = try await transport.send(request)
            let json = try JSONParser().parse(response.body)
            return Answer(status: response.status, json: json, response: response)
        }

        func order(_ provider: SimulatedProvider, _ orderID: String, credentials: StatusAPISimulator.Credentials? = nil) async throws -> Answer {
            try await get(target(provider, orderID), headers: authHeaders(provider, credentials ?? StatusAPISimulatorTests.credentials(provider)))
        }
    }

    /// Runs `simulator` on an ephemeral port with a fresh libcurl transport.
    static func withServer<T: Sendable>(_ simulator: StatusAPISimulator, _ body: @Sendable (Client) async throws -> T) async throws -> T {
        let transport = try CurlTransport()
        do {
            let value = try await simulator.run { port in try await body(Client(transport: transport, port: port)) }
            await transport.shutdown()
            return value
        } catch {
            await transport.shutdown()
            throw error
        }
    }

    // MARK: Documented shapes

    @Test func juspayAnswersTheDocumentedOrderShape() async throws {
        let simulator = StatusAPISimulator(provider: .juspay, credentials: Self.juspayCredentials)
        let answer = try await Self.withServer(simulator) { try await $0.order(.juspay, "ord_1001") }
        #expect(answer.status == 200)
        #expect(answer.response.header("content-type") == "application/json")
        let order = answer.json
        #expect(order["order_id"] == .string("ord_1001"))
        #expect(order["id"]?.stringValue?.hasPrefix("ordeh_") == true)
        #expect(order["merchant_id"] == .string("shopexample"))
        #expect(order["status"] == .string("CHARGED"))
        #expect(order["status_id"] == .number("21"))
        #expect(order["amount"] == .number("100.00"))
        #expect(order["currency"] == .string("INR"))
        #expect(order["txn_id"] == .string("shopexample-ord_1001-1"))
        #expect(order["refunded"] == .bool(false))
        #expect(order["amount_refunded"] == .number("0"))
        #expect(order["last_updated"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) != nil)
        // The amount's exact text goes on the wire as a number.
        #expect(String(decoding: answer.response.body, as: UTF8.self).contains(#""amount":100.00,"#))
    }

    @Test func juspayStatusIDFollowsTheWordAndIsOmittedForOthers() async throws {
        let simulator = StatusAPISimulator(provider: .juspay, credentials: nil)
        simulator.script(order: "a", [.answer(.init(status: "AUTHORIZATION_FAILED", amount: "5", currency: "USD"))])
        simulator.script(order: "b", [.answer(.init(status: "SOMETHING_NEW", amount: "5"))])
        let (a, b) = try await Self.withServer(simulator) { client in
            (try await client.get("/orders/a"), try await client.get("/orders/b"))
        }
        #expect(a.json["status_id"] == .number("27"))
        #expect(a.json["currency"] == .string("USD"))
        #expect(a.json["merchant_id"] == .string("sim"))
        #expect(b.status == 200)
        #expect(b.json["status_id"] == nil)
    }

    @Test func luxfinAnswersTheDocumentedPaymentShape() async throws {
        let simulator = StatusAPISimulator(provider: .luxfin, credentials: Self.luxfinCredentials)
        simulator.setDefault(.init(status: "SUCCESS", amount: "25.50"))
        let answer = try await Self.withServer(simulator) { try await $0.order(.luxfin, "9123456789") }
        #expect(answer.status == 200)
        #expect(answer.json["status"] == .string("SUCCESS"))
        #expect(answer.json.value(atPath: "data.id") == .string("9123456789"))
        #expect(answer.json.value(atPath: "data.Amount") == .number("25.50"))
        #expect(answer.json.value(atPath: "data.currency") == .string("USD"))
        #expect(answer.json.value(atPath: "data.customer") == .string("buyer@example.com"))
        #expect(answer.json.value(atPath: "data.product") == .string("Simulated order"))
        #expect(answer.json.value(atPath: "data.status") == .string("SUCCESS"))
        #expect(answer.json.value(atPath: "data.amount") == nil)
    }

    @Test func nonstopayAnswersTheDocumentedInvoiceShapeWithOrWithoutTheTrailingSlash() async throws {
        let simulator = StatusAPISimulator(provider: .nonstopay, credentials: Self.nonstopayCredentials)
        simulator.setDefault(.init(status: "invoice:paid", amount: "15.04"))
        let headers = Self.authHeaders(.nonstopay, Self.nonstopayCredentials)
        let (slash, bare) = try await Self.withServer(simulator) { client in
            (try await client.get("/api/invoice/status/?id=inv_42", headers: headers),
             try await client.get("/api/invoice/status?id=inv_42", headers: headers))
        }
        for answer in [slash, bare] {
            #expect(answer.status == 200)
            #expect(answer.json.value(atPath: "invoice.id") == .string("inv_42"))
            #expect(answer.json.value(atPath: "invoice.devise") == .string("EUR"))
            #expect(answer.json.value(atPath: "invoice.amount") == .string("15.04"))
            #expect(answer.json.value(atPath: "invoice.status") == .string("invoice:paid"))
        }
    }

    @Test func anAmountThatIsNotAPlainDecimalIsSentAsAString() async throws {
        let simulator = StatusAPISimulator(provider: .luxfin, credentials: nil)
        simulator.script(order: "x", [.answer(.init(status: "SUCCESS", amount: "1e5"))])
        simulator.script(order: "y", [.answer(.init(status: "SUCCESS", amount: "12.\"}"))])
        let (x, y) = try await Self.withServer(simulator) { client in
            (try await client.get(Self.target(.luxfin, "x")), try await client.get(Self.target(.luxfin, "y")))
        }
        #expect(x.json.value(atPath: "data.Amount") == .string("1e5"))
        #expect(y.json.value(atPath: "data.Amount") == .string("12.\"}"))
    }

    // MARK: Credentials

    @Test(arguments: SimulatedProvider.allCases)
    func wrongOrMissingCredentialsAreRefusedInTheProvidersShape(provider: SimulatedProvider) async throws {
        let right = Self.credentials(provider)
        let simulator = StatusAPISimulator(provider: provider, credentials: right)
        let wrong = StatusAPISimulator.Credentials(apiKey: right.apiKey + "x", merchantID: right.merchantID)
        let (ok, missing, bad) = try await Self.withServer(simulator) { client in
            (try await client.order(provider, "o-1"),
             try await client.get(Self.target(provider, "o-1")),
             try await client.order(provider, "o-1", credentials: wrong))
        }
        #expect(ok.status == 200)
        for refused in [missing, bad] {
            #expect(refused.status == 401)
            switch provider {
            case .juspay:
                #expect(refused.json["status"] == .string("error"))
                #expect(refused.json["error_code"] == .string("access_denied"))
                #expect(refused.json["error_message"]?.stringValue != nil)
            case .luxfin:
                #expect(refused.json["status"] == .string("error"))
                #expect(refused.json["message"]?.stringValue != nil)
            case .nonstopay:
                #expect(refused.json["error"]?.stringValue != nil)
            }
        }
        let stats = simulator.stats()
        #expect(stats.totalCalls == 3)
        #expect(stats.unauthorized == 2)
        #expect(stats.callsByOrder == ["o-1": 1])
    }

    @Test func juspayNeedsTheMerchantIDAndAnEmptyPassword() async throws {
        let simulator = StatusAPISimulator(provider: .juspay, credentials: Self.juspayCredentials)
        let key = Self.juspayCredentials.apiKey
        let statuses = try await Self.withServer(simulator) { client in
            var statuses: [Int] = []
            // Right key, no merchant header.
            statuses.append(try await client.get("/orders/o", headers: [("Authorization", "Basic " + ByteEncoding.base64(Array((key + ":").utf8)))]).status)
            // Right key, another merchant.
            statuses.append(try await client.get("/orders/o", headers: [
                ("Authorization", "Basic " + ByteEncoding.base64(Array((key + ":").utf8))), ("x-merchantid", "othershop"),
            ]).status)
            // The key as password.
            statuses.append(try await client.get("/orders/o", headers: [
                ("Authorization", "Basic " + ByteEncoding.base64(Array((key + ":" + key).utf8))), ("x-merchantid", "shopexample"),
            ]).status)
            // A bearer token instead.
            statuses.append(try await client.get("/orders/o", headers: [("Authorization", "Bearer " + key), ("x-merchantid", "shopexample")]).status)
            // Scheme case does not matter.
            statuses.append(try await client.get("/orders/o", headers: [
                ("Authorization", "basic " + ByteEncoding.base64(Array((key + ":").utf8))), ("x-merchantid", "shopexample"),
            ]).status)
            return statuses
        }
        #expect(statuses == [401, 401, 401, 401, 200])
        #expect(simulator.stats().unauthorized == 4)
    }

    // MARK: Scripts

    @Test func scriptsAreConsumedInOrderAndTheLastRepeats() async throws {
        let simulator = StatusAPISimulator(provider: .luxfin, credentials: nil)
        simulator.script(order: "77", [
            .answer(.init(status: "PENDING", amount: "10.00")),
            .answer(.init(status: "SUCCESS", amount: "10.00")),
        ])
        let statuses = try await Self.withServer(simulator) { client in
            var statuses: [String] = []
            for _ in 0..<4 { statuses.append(try await client.get(Self.target(.luxfin, "77")).json["status"]?.stringValue ?? "?") }
            return statuses
        }
        #expect(statuses == ["PENDING", "SUCCESS", "SUCCESS", "SUCCESS"])
        #expect(simulator.stats().callsByOrder["77"] == 4)
    }

    @Test func anErrorWithRetryAfterThenAnAnswer() async throws {
        let simulator = StatusAPISimulator(provider: .juspay, credentials: nil)
        simulator.script(order: "busy", [.error(status: 503, retryAfter: "2"), .answer(.init(status: "CHARGED", amount: "1.00"))])
        let (first, second) = try await Self.withServer(simulator) { client in
            (try await client.get("/orders/busy"), try await client.get("/orders/busy"))
        }
        #expect(first.status == 503)
        #expect(first.response.header("retry-after") == "2")
        #expect(first.json["status"] == .string("error"))
        #expect(first.json["error_code"] == .string("service_unavailable"))
        #expect(second.status == 200)
        #expect(second.json["status"] == .string("CHARGED"))
    }

    @Test func aStallHoldsTheRequestThenAnswersTheNextReply() async throws {
        let simulator = StatusAPISimulator(provider: .nonstopay, credentials: nil)
        simulator.script(order: "slow", [.stall(.milliseconds(400)), .answer(.init(status: "invoice:waiting", amount: "3.00"))])
        let (stalled, after) = try await Self.withServer(simulator) { client in
            (try await client.get("/api/invoice/status/?id=slow"), try await client.get("/api/invoice/status/?id=slow"))
        }
        #expect(stalled.response.duration >= .milliseconds(380))
        #expect(stalled.json.value(atPath: "invoice.status") == .string("invoice:waiting"))
        #expect(after.json.value(atPath: "invoice.status") == .string("invoice:waiting"))
        #expect(simulator.stats().callsByOrder["slow"] == 2, "the stall and its answer were one call; the next is the repeated last reply")
    }

    @Test func pendingForAnswersThePendingWordFirstForEachOrder() async throws {
        let simulator = StatusAPISimulator(provider: .juspay, credentials: nil)
        simulator.setDefault(.init(status: "CHARGED", amount: "49.90", currency: "EUR"))
        simulator.setPendingFor(2)
        let (a, b) = try await Self.withServer(simulator) { client in
            var a: [JSONValue] = []
            for _ in 0..<3 { a.append(try await client.get("/orders/A").json) }
            let b = try await client.get("/orders/B").json
            return (a, b)
        }
        #expect(a.map { $0["status"] } == [.string("PENDING_VBV"), .string("PENDING_VBV"), .string("CHARGED")])
        #expect(a.first?["status_id"] == .number("23"))
        #expect(a.allSatisfy { $0["amount"] == .number("49.90") && $0["currency"] == .string("EUR") })
        #expect(b["status"] == .string("PENDING_VBV"))
    }

    @Test func withoutADefaultAnUnscriptedOrderIsNotFoundInTheProvidersShape() async throws {
        let simulator = StatusAPISimulator(provider: .juspay, credentials: nil)
        simulator.setDefault(nil)
        simulator.script(order: "known", [.answer(.init(status: "CHARGED", amount: "1"))])
        let (unknown, known) = try await Self.withServer(simulator) { client in
            (try await client.get("/orders/unknown"), try await client.get("/orders/known"))
        }
        #expect(unknown.status == 404)
        #expect(unknown.json["error_code"] == .string("order_not_found"))
        #expect(known.status == 200)
    }

    // MARK: Hostile input

    @Test(arguments: SimulatedProvider.allCases)
    func anEncodedHostileOrderIDRoundTripsAndArrivesOnlyEncoded(provider: SimulatedProvider) async throws {
        let hostile = "../admin?x=1#y% \"q\" \\ \u{01}é"
        let simulator = StatusAPISimulator(provider: provider, credentials: Self.credentials(provider))
        let (answer, dots) = try await Self.withServer(simulator) { client in
            (try await client.order(provider, hostile), try await client.order(provider, ".."))
        }
        #expect(answer.status == 200, "\(String(decoding: answer.response.body, as: UTF8.self))")
        let idPath = switch provider {
        case .juspay: "order_id"
        case .luxfin: "data.id"
        case .nonstopay: "invoice.id"
        }
        #expect(answer.json.value(atPath: idPath) == .string(hostile))
        #expect(dots.json.value(atPath: idPath) == .string(".."))
        let stats = simulator.stats()
        #expect(stats.callsByOrder == [hostile: 1, "..": 1])
        #expect(stats.rawTargets == [Self.target(provider, hostile), Self.target(provider, "..")])
        for raw in stats.rawTargets {
            #expect(!raw.contains("../"), "\(raw)")
            #expect(!raw.contains("#"), "\(raw)")
            #expect(!raw.contains("\""), "\(raw)")
            #expect(!raw.contains(" "), "\(raw)")
        }
    }

    @Test func aQueryPlusIsASpaceAndAPathPlusIsNot() async throws {
        let luxfin = StatusAPISimulator(provider: .luxfin, credentials: nil)
        let fromQuery = try await Self.withServer(luxfin) { try await $0.get("/payment/status?payment_id=a+b%2B") }
        #expect(fromQuery.json.value(atPath: "data.id") == .string("a b+"))
        let juspay = StatusAPISimulator(provider: .juspay, credentials: nil)
        let fromPath = try await Self.withServer(juspay) { try await $0.get("/orders/a+b%20c") }
        #expect(fromPath.json["order_id"] == .string("a+b c"))
    }

    @Test func malformedOrMissingIDsAreBadRequestsNotCrashes() async throws {
        let simulator = StatusAPISimulator(provider: .luxfin, credentials: nil)
        let statuses = try await Self.withServer(simulator) { client in
            var statuses: [Int] = []
            for target in ["/payment/status", "/payment/status?payment_id=", "/payment/status?payment_id=%zz", "/payment/status?payment_id=%ff%fe"] {
                statuses.append(try await client.get(target).status)
            }
            // Still serving.
            statuses.append(try await client.get("/payment/status?payment_id=1").status)
            return statuses
        }
        #expect(statuses == [400, 400, 400, 400, 200])
        #expect(simulator.stats().callsByOrder == ["1": 1])
    }

    @Test func unknownPathsAndMethodsGetJSONErrors() async throws {
        let simulator = StatusAPISimulator(provider: .juspay, credentials: Self.juspayCredentials)
        let auth = Self.authHeaders(.juspay, Self.juspayCredentials)
        let answers = try await Self.withServer(simulator) { client in
            [
                try await client.get("/"),
                try await client.get("/orders/a/b", headers: auth),
                try await client.get("/orders/", headers: auth),
                try await client.get("/payment/status?payment_id=1", headers: auth),
                try await client.get("/orders/a", headers: auth, method: "POST", body: Array("{}".utf8)),
                try await client.get("/orders/a", headers: auth, method: "DELETE"),
            ]
        }
        #expect(answers.map(\.status) == [404, 404, 404, 404, 405, 405])
        for answer in answers {
            #expect(answer.json["status"] == .string("error"))
            #expect(answer.response.header("content-type") == "application/json")
        }
        #expect(answers[4].response.header("allow") == "GET")
        #expect(simulator.stats().callsByOrder.isEmpty)
        #expect(simulator.stats().totalCalls == 6)
    }

    // MARK: Concurrency

    @Test func maxConcurrentCountsParallelRequestsHeldByTheDelay() async throws {
        let simulator = StatusAPISimulator(provider: .nonstopay, credentials: nil)
        // Long enough that five requests started together overlap even when the machine is busy
        // running the rest of the suite (300 ms was not, in CI).
        simulator.setDelay(.seconds(2))
        let statuses = try await Self.withServer(simulator) { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<5 {
                    group.addTask { try await client.get("/api/invoice/status/?id=inv_\(index)").status }
                }
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
        }
        #expect(statuses == [200, 200, 200, 200, 200])
        let stats = simulator.stats()
        #expect(stats.maxConcurrent == 5)
        #expect(stats.inFlight == 0)
        #expect(stats.totalCalls == 5)
    }

    // MARK: Lifecycle

    @Test func serveRunsUntilCancelledThenStops() async throws {
        let simulator = StatusAPISimulator(provider: .luxfin, credentials: nil)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = Task {
            try await simulator.serve(host: "127.0.0.1", port: 0) { continuation.yield($0) }
        }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let transport = try CurlTransport()
        let client = Client(transport: transport, port: port)
        let answer = try await client.get("/payment/status?payment_id=5")
        #expect(answer.status == 200)
        server.cancel()
        try await server.value
        let afterwards: Result<TransportResponse, TransportError>
        do {
            afterwards = .success(try await transport.send(TransportRequest(url: "http://127.0.0.1:\(port)/payment/status?payment_id=5", method: "GET", timeout: .seconds(5))))
        } catch {
            afterwards = .failure(error)
        }
        await transport.shutdown()
        #expect((try? afterwards.get()) == nil, "the server still answers after serve returned")
    }

    @Test func stoppingEndsAStallAndStillAnswersTheStalledRequest() async throws {
        let simulator = StatusAPISimulator(provider: .juspay, credentials: nil)
        simulator.script(order: "held", [.stall(.seconds(30))])
        let transport = try CurlTransport()
        let pending = try await simulator.run { port in
            let request = Task {
                try await transport.send(TransportRequest(url: "http://127.0.0.1:\(port)/orders/held", method: "GET", timeout: .seconds(20)))
            }
            // Returns while the request is held by its stall.
            #expect(await Self.eventually { simulator.stats().inFlight == 1 })
            return request
        }
        let response = try await pending.value
        await transport.shutdown()
        // Answered (not timed out after 20 s, as a 30 s stall would be): stopping ended the stall.
        // The stall was the script's last reply: the default answers.
        #expect(response.status == 200)
        #expect(try JSONParser().parse(response.body)["status"] == .string("CHARGED"))
        #expect(simulator.stats().inFlight == 0)
    }

    /// Polls `condition` every 10 ms for up to 5 s.
    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func aTakenPortIsAnErrorNotAHang() async throws {
        let first = StatusAPISimulator(provider: .juspay, credentials: nil)
        let second = StatusAPISimulator(provider: .juspay, credentials: nil)
        try await first.run { port in
            await #expect(throws: (any Error).self) {
                try await second.run(port: port) { _ in }
            }
        }
        await #expect(throws: StatusAPISimulator.ServeError.invalidPort(70_000)) {
            try await second.run(port: 70_000) { _ in }
        }
    }
}
