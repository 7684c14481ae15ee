import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeServer
import CallbridgeStore
import CallbridgeStoreSQLite
import Logging
import Synchronization
import Testing

/// The ingest pipeline without HTTP: `IngestRequest` in, `IngestOutcome` out,
/// against a real SQLite log and the shipped handler files.
@Suite struct IngestPipelineTests {
    static let config = """
    endpoints:
      - {name: orders, url: "http://127.0.0.1:9/hooks", secret: "${ORDERS_SECRET}", events: ["payment.*"]}
    """
    static let clockTime = Timestamp(secondsSinceEpoch: 1_795_428_000)

    static func webhook(password: String = "s3cret-basic-pass", forwardedFor: String? = nil) -> IngestRequest {
        var headers = [HeaderField(name: "Content-Type", value: "application/json"),
                       HeaderField(name: "Authorization", value: "Basic " + ByteEncoding.base64(Array("merchant_hooks:\(password)".utf8)))]
        if let forwardedFor { headers.append(HeaderField(name: "X-Forwarded-For", value: forwardedFor)) }
        return IngestRequest(method: "POST", path: "/juspay/webhook", headers: headers, body: Array(juspayWebhook().utf8), peerAddress: "10.1.2.3")
    }

    func withPipeline(readOnly: Bool = false, _ body: (IngestPipeline, SQLiteEventLog, WakeCount) async throws -> Void) async throws {
        let server = try TestServer(configYAML: Self.config)
        defer { server.directory.cleanUp() }
        let created = try SQLiteEventLog(path: server.databasePath)
        let log = readOnly ? try SQLiteEventLog.openReadOnly(path: server.databasePath) : created
        let wakes = WakeCount()
        let pipeline = IngestPipeline(handlers: server.handlers, log: log, endpoints: server.config.endpoints, clock: { Self.clockTime },
                                      deliveriesCommitted: { wakes.count.withLock { $0 += 1 } },
                                      clientAddress: ClientAddress(trustedProxies: [try #require(IPAllowlistVerifier.Network("10.0.0.0/8"))]))
        try await body(pipeline, log, wakes)
    }

    @Test func aWebhookIsCommittedWithItsDeliveryThenAckedAndItsRepeatIsADuplicate() async throws {
        try await withPipeline { (pipeline: IngestPipeline, log: SQLiteEventLog, wakes: WakeCount) async throws in
            let request = Self.webhook(forwardedFor: "203.0.113.7")
            let outcome = await pipeline.ingest(request, logger: Logger(label: "test"))
            guard case .accepted(let id, duplicate: false) = outcome else { Issue.record("\(outcome)"); return }
            #expect(outcome.status == 200)
            // Committed before the outcome came back: the event, its raw request, its delivery.
            let stored = try #require(try await log.event(id: id))
            #expect(stored.raw.body == request.body)
            #expect(stored.raw.receivedAt == Self.clockTime)
            #expect(stored.raw.remoteAddress == "203.0.113.7", "X-Forwarded-For from a trusted proxy")
            #expect(stored.event.type == .paymentSucceeded)
            #expect(try await log.deliveries(forEvent: id).map(\.endpoint) == ["orders"])
            #expect(wakes.count.withLock { $0 } == 1)

            let again = await pipeline.ingest(request, logger: Logger(label: "test"))
            #expect(again == .accepted(id, duplicate: true))
            #expect(try await log.events(matching: EventQuery()).count == 1)
            #expect(wakes.count.withLock { $0 } == 1, "a duplicate creates no delivery")
        }
    }

    @Test func refusalsStoreNothingAndSayWhy() async throws {
        try await withPipeline { (pipeline: IngestPipeline, log: SQLiteEventLog, _: WakeCount) async throws in
            let logger = Logger(label: "test")
            let badPassword = await pipeline.ingest(Self.webhook(password: "wrong"), logger: logger)
            guard case .refused(let error, let allowed) = badPassword else { Issue.record("\(badPassword)"); return }
            #expect(error.status == 401 && allowed.isEmpty)

            let wrongMethod = await pipeline.ingest(IngestRequest(method: "GET", path: "/juspay/webhook"), logger: logger)
            #expect(wrongMethod == .refused(.methodNotAllowed("GET", allowed: ["POST"]), allowed: ["POST"]))
            #expect(wrongMethod.status == 405)

            let unknown = await pipeline.ingest(IngestRequest(method: "POST", path: "/nowhere"), logger: logger)
            #expect(unknown == .refused(.routeNotFound("/nowhere")))
            #expect(unknown.status == 404)
            #expect(try await log.events(matching: EventQuery()).isEmpty)
        }
    }

    @Test func aBrowserReturnLandsAndATamperedOneLandsWithoutAnEvent() async throws {
        try await withPipeline { (pipeline: IngestPipeline, log: SQLiteEventLog, _: WakeCount) async throws in
            let logger = Logger(label: "test")
            let signed = juspayReturnQuery([("order_id", "ord_1234"), ("status", "CHARGED"), ("status_id", "21")], key: "juspay-response-key-123")
            let landed = await pipeline.ingest(IngestRequest(method: "GET", path: "/juspay/return", query: signed), logger: logger)
            guard case .landing(let location) = landed else { Issue.record("\(landed)"); return }
            #expect(location.hasPrefix("https://shop.example.com/checkout/ord_1234"))
            #expect(landed.status == 303)
            #expect(try await log.events(matching: EventQuery()).count == 1)

            let tampered = signed.replacingOccurrences(of: "CHARGED", with: "AUTHORIZATION_FAILED")
            let refused = await pipeline.ingest(IngestRequest(method: "GET", path: "/juspay/return", query: tampered), logger: logger)
            #expect(refused == .landing("https://shop.example.com/checkout/ord_1234?result=unknown"))
            #expect(try await log.events(matching: EventQuery()).count == 1)
        }
    }

    @Test func aLogThatCannotCommitIsUnavailableAndNothingIsAcked() async throws {
        try await withPipeline(readOnly: true) { (pipeline: IngestPipeline, log: SQLiteEventLog, wakes: WakeCount) async throws in
            let outcome = await pipeline.ingest(Self.webhook(), logger: Logger(label: "test"))
            #expect(outcome == .unavailable)
            #expect(outcome.status == 503)
            #expect(try await log.events(matching: EventQuery()).isEmpty)
            #expect(wakes.count.withLock { $0 } == 0)
        }
    }
}

/// How often the pipeline woke the dispatcher.
final class WakeCount: Sendable {
    let count = Mutex(0)
}
