import CallbridgeModel
import CallbridgeServer
import CallbridgeStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// End-to-end ingest through a real listener, the shipped handler files and a
/// real SQLite log.
@Suite struct IngestTests {
    @Test func juspayWebhookWithRightBasicAuthIsAckedAfterCommitWithEveryField() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let response = try await client.post("/juspay/webhook", json: juspayWebhook(), headers: juspayAuth)
            #expect(response.status == .ok)
            let body = try JSONParser().parse(Array(buffer: response.body))
            #expect(body["status"] == .string("accepted"))
            let id = try #require(body["event_id"]?.stringValue.flatMap(EventID.init))

            let stored = try #require(try await log.event(id: id))
            let event = stored.event
            #expect(event.type == .paymentSucceeded)
            #expect(event.data.provider == "juspay")
            #expect(event.data.route == "webhook")
            #expect(event.data.channel == .callback)
            #expect(event.data.verified)
            #expect(event.data.verification == .basicAuth)
            #expect(event.data.orderID == "ord_1234")
            #expect(event.data.transactionID == "txn_abc")
            #expect(event.data.providerEventID == "evt_V2_b737837102414514ae0e9717a9f2664d")
            #expect(event.data.providerStatus == "CHARGED")
            #expect(event.data.amount?.text == "100.00")
            #expect(event.data.currency?.code == "USD")
            #expect(event.data.customer == "test@example.com")
            #expect(event.data.occurredAt == Timestamp(rfc3339: "2026-11-23T09:59:58Z"))
            #expect(event.data.merchantData == .object([("udf1", .object([("txId", .string("qktr12eqzg"))]))]))
            // The raw request is kept, with the credentials redacted.
            #expect(stored.raw.header("authorization") == "[redacted]")
            #expect(String(decoding: stored.raw.body, as: UTF8.self).contains("ord_1234"))
        }
    }

    @Test(arguments: [
        ("wrong password", basicAuth("merchant_hooks", "guess")),
        ("wrong user", basicAuth("someone", "s3cret-basic-pass")),
        ("no header", HTTPFields()),
        ("not basic", HTTPFields([HTTPField(name: .authorization, value: "Bearer s3cret-basic-pass")])),
    ])
    func juspayWebhookWithBadCredentialsIs401AndStoresNothing(_ label: String, _ headers: HTTPFields) async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let response = try await client.post("/juspay/webhook", json: juspayWebhook(), headers: headers)
            #expect(response.status == .unauthorized, "\(label)")
            let body = try JSONParser().parse(Array(buffer: response.body))
            #expect(body["error"] == .string("verification_failed"))
            #expect(body["detail"]?.stringValue?.isEmpty == false)
            #expect(try await log.events(matching: EventQuery()).isEmpty)
        }
    }

    @Test func duplicateJuspayWebhookIsAckedButStoredOnce() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let first = try await client.post("/juspay/webhook", json: juspayWebhook(), headers: juspayAuth)
            let second = try await client.post("/juspay/webhook", json: juspayWebhook(), headers: juspayAuth)
            #expect(first.status == .ok)
            #expect(second.status == .ok)
            let a = try JSONParser().parse(Array(buffer: first.body))
            let b = try JSONParser().parse(Array(buffer: second.body))
            #expect(b["status"] == .string("duplicate"))
            #expect(a["event_id"] == b["event_id"])
            #expect(try await log.events(matching: EventQuery()).count == 1)
        }
    }

    @Test func signedJuspayReturnRedirectsToLandingAndRecordsVerifiedEvent() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let query = juspayReturnQuery([("order_id", "ord_1234"), ("status", "CHARGED"), ("status_id", "21")], key: "juspay-response-key-123")
            let response = try await client.get("/juspay/return?" + query)
            #expect(response.status == .seeOther)
            let events = try await log.events(matching: EventQuery())
            let event = try #require(events.first)
            #expect(events.count == 1)
            #expect(event.type == .paymentSucceeded)
            #expect(event.data.channel == .redirect)
            #expect(event.data.verified)
            #expect(event.data.verification == .signatureParam)
            let location = try #require(response.headers[.location])
            #expect(location == "https://shop.example.com/checkout/ord_1234?result=success")
            #expect(!location.contains("signature"))
        }
    }

    @Test func tamperedJuspayReturnLandsWithOutcomeUnknownAndRecordsNothing() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let signed = juspayReturnQuery([("order_id", "ord_1234"), ("status", "AUTHORIZATION_FAILED"), ("status_id", "27")], key: "juspay-response-key-123")
            let tampered = signed.replacingOccurrences(of: "AUTHORIZATION_FAILED", with: "CHARGED")
            let response = try await client.get("/juspay/return?" + tampered)
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "https://shop.example.com/checkout/ord_1234?result=unknown")
            #expect(try await log.events(matching: EventQuery()).isEmpty)
            #expect(server.logs.all.contains("failed verification"))
        }
    }

    @Test func landingNeverTakesItsDestinationFromTheRequest() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            let response = try await client.get("/luxfin/return?order_id=%2F%2Fevil.example%2F&status=success&redirect=https://evil.example")
            #expect(response.status == .seeOther)
            let location = try #require(response.headers[.location])
            #expect(location.hasPrefix("https://shop.example.com/checkout/"))
            #expect(!location.contains("evil.example/"))
        }
    }

    @Test func luxfinReturnIsRecordedAsUnverifiedHint() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let response = try await client.executeRequest(
                uri: "/luxfin/return", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "order_id=1048576&status=completed&amount=25.50&currency=usd&transaction_id=PAYID-NX2")
            )
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "https://shop.example.com/checkout/1048576?result=success")
            let event = try #require(try await log.events(matching: EventQuery()).first)
            #expect(!event.data.verified)
            #expect(event.data.verification == VerificationMethod.none)
            #expect(event.data.orderID == "1048576")
            #expect(event.data.amount?.text == "25.50")
            #expect(event.data.currency?.code == "USD")
        }
    }

    @Test func nonStoPayCallbackWithSignatureIsAcceptedAndBadSignatureIs401() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        let body = #"{"id":"ntf_9001","invoice_id":"inv_77","order_id":"ord_55","status":"invoice:paid","amount":"49.90","devise":"EUR","email":"b@example.com","created_at":"2026-11-23T09:00:00Z","callbackJson":"{\"txId\":\"qktr12eqzg\"}"}"#
        try await server.run { client, log in
            let good = nonStoPaySignature(body, key: "nsp_live_key_abc")
            let ok = try await client.post("/nonstopay/callback", json: body, headers: [HTTPField.Name("X-Signature")!: good])
            #expect(ok.status == .ok)
            let bad = try await client.post("/nonstopay/callback", json: body, headers: [HTTPField.Name("X-Signature")!: String(repeating: "0", count: 64)])
            #expect(bad.status == .unauthorized)
            let events = try await log.events(matching: EventQuery())
            #expect(events.count == 1)
            let event = try #require(events.first)
            #expect(event.type == .paymentSucceeded)
            #expect(event.data.verification == .hmac)
            #expect(event.data.currency?.code == "EUR")
            #expect(event.data.amount?.text == "49.90")
            #expect(event.data.merchantData == .object([("txId", .string("qktr12eqzg"))]))
        }
    }

    @Test(arguments: [("success", EventType.paymentSucceeded), ("cancel", .paymentCancelled), ("pending", .paymentPending), ("failure", .paymentFailed)])
    func nonStoPayReturnTakesItsOutcomeFromThePath(_ outcome: String, _ type: EventType) async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let response = try await client.get("/nonstopay/return/\(outcome)?order_id=ord_9&invoice_id=inv_9&amount=10.00&devise=EUR")
            #expect(response.status == .seeOther)
            let event = try #require(try await log.events(matching: EventQuery()).first)
            #expect(event.type == type)
            #expect(response.headers[.location] == "https://shop.example.com/checkout/ord_9?result=\(type.outcome.rawValue)")
        }
    }

    @Test func badInputGetsJSONErrorsWithTheRightStatus() async throws {
        let server = try TestServer(configYAML: "limits: {max_body_bytes: 2048}")
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            func errorCode(_ r: TestResponse) throws -> String? {
                #expect(r.headers[.contentType] == "application/json")
                return try JSONParser().parse(Array(buffer: r.body))["error"]?.stringValue
            }
            let notFound = try await client.get("/stripe/webhook")
            #expect(notFound.status == .notFound)
            #expect(try errorCode(notFound) == "route_not_found")

            let wrongMethod = try await client.get("/juspay/webhook")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "POST")
            #expect(try errorCode(wrongMethod) == "method_not_allowed")

            let malformed = try await client.post("/juspay/webhook", json: #"{"id": "x", "content": "#, headers: juspayAuth)
            #expect(malformed.status == .badRequest)
            #expect(try errorCode(malformed) == "malformed_body")

            var plain = juspayAuth
            plain[.contentType] = "text/plain"
            let unsupported = try await client.post("/juspay/webhook", json: juspayWebhook(), headers: plain)
            #expect(unsupported.status == .unsupportedMediaType)
            #expect(try errorCode(unsupported) == "unsupported_media_type")

            let big = juspayWebhook(extraOrderFields: #","notes":""# + String(repeating: "x", count: 4096) + #"""#)
            let tooLarge = try await client.post("/juspay/webhook", json: big, headers: juspayAuth)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(try errorCode(tooLarge) == "body_too_large")

            let badEscape = try await client.get("/luxfin/return?order_id=%zz")
            #expect(badEscape.status == .badRequest)

            #expect(try await log.events(matching: EventQuery()).isEmpty)
            // The server is still healthy after all of it.
            #expect(try await client.get("/healthz").status == .ok)
        }
    }

    @Test func cardNumbersAndCVVNeverReachTheDatabaseFileOrTheLogs() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        let pan = "4111111111111111"
        let spacedPAN = "5500 0000 0000 0004"
        try await server.run { client, log in
            let body = juspayWebhook(extraOrderFields: #","card":{"number":\#(pan),"holder_note":"card \#(spacedPAN)","cvv":"737"}"#)
            let response = try await client.post("/juspay/webhook", json: body, headers: juspayAuth)
            #expect(response.status == .ok)
            let query = "order_id=ord_77&status=success&card_number=\(pan)&cvc=123"
            #expect(try await client.get("/luxfin/return?" + query).status == .seeOther)
            #expect(try await log.events(matching: EventQuery()).count == 2)
        }
        // Every byte SQLite wrote (main file, WAL and shared memory).
        var stored = Data()
        for suffix in ["", "-wal", "-shm"] {
            stored += (FileManager.default.contents(atPath: server.databasePath + suffix) ?? Data())
        }
        let text = String(decoding: stored, as: UTF8.self)
        #expect(!stored.isEmpty)
        #expect(!text.contains(pan))
        #expect(!text.contains("5500 0000 0000 0004"))
        #expect(!text.contains("\"cvv\":\"737\""))
        #expect(!text.contains("cvc=123"))
        #expect(text.contains("ord_1234"))
        #expect(!server.logs.all.contains(pan))
    }

    @Test func aCardNumberEchoedInAnErrorDetailIsMaskedInTheLogs() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            var headers = juspayAuth
            headers[.contentType] = "text/4111111111111111"
            let response = try await client.post("/juspay/webhook", json: juspayWebhook(), headers: headers)
            #expect(response.status == .unsupportedMediaType)
        }
        #expect(server.logs.all.contains("request refused"))
        #expect(!server.logs.all.contains("4111111111111111"))
    }

    @Test func eventsWrittenBeforeARestartAreReadBackAfterIt() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        let firstID = try await server.run { client, _ in
            let r = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_restart_1"), headers: juspayAuth)
            return try #require(try JSONParser().parse(Array(buffer: r.body))["event_id"]?.stringValue)
        }
        try await server.run { client, log in
            let again = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_restart_1"), headers: juspayAuth)
            #expect(try JSONParser().parse(Array(buffer: again.body))["status"] == .string("duplicate"))
            let events = try await log.events(matching: EventQuery())
            #expect(events.map(\.id.rawValue) == [firstID])
        }
    }

    @Test func concurrentIngestsShareCommits() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        let count = 120
        try await server.run { client, log in
            let before = log.commitCount
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<count {
                    group.addTask {
                        // One connection per request: the server sees them concurrently.
                        try await TestClient.withClient(host: "127.0.0.1", port: try #require(client.port)) { connection in
                            var headers = juspayAuth
                            headers[.contentType] = "application/json"
                            let body = ByteBuffer(string: juspayWebhook(id: "evt_gc_\(i)", orderID: "ord_\(i)"))
                            return try await connection.post("/juspay/webhook", headers: headers, body: body).status
                        }
                    }
                }
                for try await status in group { #expect(status == .ok) }
            }
            let commits = log.commitCount - before
            #expect(try await log.events(matching: EventQuery(limit: 1000)).count == count)
            #expect(commits < count, "\(commits) commits for \(count) ingests")
        }
    }

    @Test func matchingEndpointsGetOneDeliveryEachAndUnverifiedSkipsEndpointsThatDidNotOptIn() async throws {
        let endpoints = """
        endpoints:
          - {name: orders, url: "http://127.0.0.1:9/hooks", secret: "${ORDERS_SECRET}", events: ["payment.*"], providers: [juspay, luxfin]}
          - {name: refunds, url: "http://127.0.0.1:9/refunds", secret: "${ORDERS_SECRET}", events: ["refund.*"]}
          - {name: audit, url: "http://127.0.0.1:9/audit", secret: "${AUDIT_SECRET}", include_unverified: true}
        """
        let server = try TestServer(configYAML: endpoints)
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let paid = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_d1"), headers: juspayAuth)
            let paidID = try #require(try eventID(in: paid))
            #expect(try await log.deliveries(forEvent: paidID).map(\.endpoint).sorted() == ["audit", "orders"])

            let refund = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_d2", event: "ORDER_REFUNDED"), headers: juspayAuth)
            let refundID = try #require(try eventID(in: refund))
            #expect(try await log.deliveries(forEvent: refundID).map(\.endpoint).sorted() == ["audit", "refunds"])

            _ = try await client.get("/luxfin/return?order_id=42&status=success")
            let hint = try #require(try await log.events(matching: EventQuery(provider: "luxfin")).first)
            let hintDeliveries = try await log.deliveries(forEvent: hint.id)
            #expect(hintDeliveries.map(\.endpoint) == ["audit"])
            #expect(hintDeliveries.allSatisfy { $0.state == .pending })
        }
    }

    @Test func unsetProviderSecretAnswers503NotAck() async throws {
        var env = testEnvironment
        env["NONSTOPAY_API_KEY"] = nil
        let server = try TestServer(environment: env)
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let r = try await client.post("/nonstopay/callback", json: #"{"id":"n1","status":"invoice:paid"}"#,
                                          headers: [HTTPField.Name("X-Signature")!: String(repeating: "a", count: 64)])
            #expect(r.status == .serviceUnavailable)
            #expect(try JSONParser().parse(Array(buffer: r.body))["error"] == .string("route_not_configured"))
            #expect(try await log.events(matching: EventQuery()).isEmpty)
        }
    }
}

func nonStoPaySignature(_ body: String, key: String) -> String {
    ByteEncodingForTests.hex(HMACForTests.sha256(key: key, body))
}

func eventID(in response: TestResponse) throws -> EventID? {
    try JSONParser().parse(Array(buffer: response.body))["event_id"]?.stringValue.flatMap(EventID.init)
}
