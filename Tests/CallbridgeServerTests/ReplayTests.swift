import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeServer
import CallbridgeStore
import CallbridgeStoreSQLite
import CallbridgeTestSupport
import CallbridgeTransport
import Foundation
import HummingbirdTesting
import Logging
import Testing

/// Replay through the real store, dispatcher, libcurl and a recording sink.
@Suite(.serialized) struct ReplayTests {
    func config(sinkPort: Int) -> String {
        """
        endpoints:
          - {name: orders, url: "http://127.0.0.1:\(sinkPort)/orders", secret: "${ORDERS_SECRET}", retry_schedule: [0s, 50ms]}
          - {name: audit, url: "http://127.0.0.1:\(sinkPort)/audit", secret: "${AUDIT_SECRET}", events: ["refund.*"]}
        """
    }

    func dispatcher(_ server: TestServer, log: SQLiteEventLog, transport: CurlTransport) throws -> Dispatcher {
        var logger = Logger(label: "replay-test")
        logger.logLevel = .critical
        return try Dispatcher(log: log, transport: transport, endpoints: server.config.endpoints,
                              configuration: .init(owner: "replay-test", pollInterval: .milliseconds(50), breakerThreshold: 1000),
                              logger: logger, clock: SystemClock.now)
    }

    func ingest(_ count: Int, server: TestServer, log: SQLiteEventLog) async throws -> [EventID] {
        let app = CallbridgeApplication.make(config: server.config, handlers: server.handlers, log: log, logger: Logger(label: "test"))
        return try await app.test(.live) { client in
            var ids: [EventID] = []
            for i in 0..<count {
                let response = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_replay_\(i)", orderID: "ord_r\(i)"), headers: juspayAuth)
                ids.append(try #require(try eventID(in: response)))
            }
            return ids
        }
    }

    @Test func deadDeliveriesReplayedByStateArriveWithTheSameWebhookID() async throws {
        let sink = RecordingSink()
        sink.setDefault("/orders", .status(500))
        try await sink.run { port in
            let server = try TestServer(configYAML: config(sinkPort: port))
            defer { server.directory.cleanUp() }
            let log = try SQLiteEventLog(path: server.databasePath)
            let transport = try CurlTransport()
            let ids = try await ingest(3, server: server, log: log)
            let dispatcher = try dispatcher(server, log: log, transport: transport)
            let running = Task { try await dispatcher.run() }
            let now: @Sendable () -> Timestamp = SystemClock.now
            #expect(await eventually { try await log.endpointStatistics(now: now()).first { $0.endpoint == "orders" }?.dead == 3 })

            // The sink is fixed; replay every dead delivery of the endpoint.
            sink.setDefault("/orders", .status(200))
            let service = ReplayService(log: log, endpoints: server.config.endpoints, handlers: nil)
            let dry = try await service.run(ReplaySelection(endpoint: "orders", state: .dead), options: .init(dryRun: true))
            #expect(dry.events == 3)
            #expect(dry.deliveries == 3)
            let result = try await service.run(ReplaySelection(endpoint: "orders", state: .dead))
            #expect(result.deliveries == 3)
            #expect(await eventually { try await log.endpointStatistics(now: now()).first { $0.endpoint == "orders" }?.succeeded == 3 })
            let stats = try #require(try await log.endpointStatistics(now: now()).first { $0.endpoint == "orders" })
            #expect(stats.dead == 0)
            dispatcher.beginShutdown()
            try await running.value
            await transport.shutdown()

            let delivered = sink.received(path: "/orders").filter { _ in true }
            let webhookIDs = delivered.compactMap { $0.header("webhook-id") }
            #expect(Set(webhookIDs) == Set(ids.map(\.rawValue)))
            // Two failed attempts and one replayed success per event, always the same id.
            #expect(webhookIDs.count == 9)
            for id in ids {
                let deliveries = try await log.deliveries(forEvent: id)
                #expect(deliveries.map(\.state) == [.dead, .succeeded])
                #expect(deliveries[0].supersededBy == deliveries[1].id)
            }
            // Nothing dead is left to replay.
            #expect(try await service.run(ReplaySelection(endpoint: "orders", state: .dead)).events == 0)
        }
    }

    @Test func replayByEventGoesToEveryMatchingEndpointOrToTheNamedOne() async throws {
        let server = try TestServer(configYAML: config(sinkPort: 9))
        defer { server.directory.cleanUp() }
        let log = try SQLiteEventLog(path: server.databasePath)
        let ids = try await ingest(2, server: server, log: log)
        let service = ReplayService(log: log, endpoints: server.config.endpoints, handlers: nil)
        let byID = try await service.run(ReplaySelection(eventIDs: [ids[0]]))
        #expect(byID.deliveries == 1)
        #expect(try await log.deliveries(forEvent: ids[0]).map(\.endpoint) == ["orders", "orders"])
        #expect(try await log.deliveries(forEvent: ids[1]).map(\.endpoint) == ["orders"])

        // Named endpoint, even one whose filters would not pick this event.
        _ = try await service.run(ReplaySelection(eventIDs: [ids[1]], endpoint: "audit"))
        #expect(try await log.deliveries(forEvent: ids[1]).map(\.endpoint) == ["orders", "audit"])

        // Selectors: provider and type narrow; a time window in the future selects nothing.
        #expect(try await service.run(ReplaySelection(provider: "luxfin"), options: .init(dryRun: true)).events == 0)
        #expect(try await service.run(ReplaySelection(type: .paymentSucceeded), options: .init(dryRun: true)).events == 2)
        let future = SystemClock.now().adding(milliseconds: 60_000)
        #expect(try await service.run(ReplaySelection(since: future), options: .init(dryRun: true)).events == 0)
        await #expect(throws: ReplayService.Failure.self) { try await service.run(ReplaySelection(endpoint: "nope")) }
    }

    @Test func renormalizeAfterAHandlerChangeProducesTheNewTypeAndKeepsTheOldRevision() async throws {
        // A private copy of the handlers, so the mapping can be fixed between ingest and replay.
        let handlersDir = NSTemporaryDirectory() + "callbridge-handlers-" + UUID().uuidString
        try FileManager.default.copyItem(atPath: repositoryRoot + "/handlers", toPath: handlersDir)
        defer { try? FileManager.default.removeItem(atPath: handlersDir) }
        let server = try TestServer(configYAML: config(sinkPort: 9).replacingOccurrences(of: "endpoints:", with: "handlers: \(handlersDir)\nendpoints:"),
                                    handlersDirectory: handlersDir)
        defer { server.directory.cleanUp() }
        let log = try SQLiteEventLog(path: server.databasePath)
        let app = CallbridgeApplication.make(config: server.config, handlers: server.handlers, log: log, logger: Logger(label: "test"))
        let id = try await app.test(.live) { client in
            let body = juspayWebhook(id: "evt_partial_1", event: "ORDER_PARTIALLY_CHARGED", status: "PARTIAL_CHARGED")
            return try #require(try eventID(in: try await client.post("/juspay/webhook", json: body, headers: juspayAuth)))
        }
        #expect(try await log.event(id: id)?.event.type == .unmapped)

        // Today's handler maps the event name.
        let file = handlersDir + "/juspay.yaml"
        let yaml = try String(contentsOfFile: file, encoding: .utf8)
        try yaml.replacingOccurrences(of: "        ORDER_SUCCEEDED: payment.succeeded\n",
                                      with: "        ORDER_SUCCEEDED: payment.succeeded\n        ORDER_PARTIALLY_CHARGED: payment.succeeded\n")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let handlers = try HandlerDirectoryLoader(directory: handlersDir, secrets: SecretSource(environment: testEnvironment)).load()

        let service = ReplayService(log: log, endpoints: server.config.endpoints, handlers: handlers)
        let result = try await service.run(ReplaySelection(eventIDs: [id]), options: .init(renormalize: true))
        #expect(result.renormalized == 1)
        #expect(result.typeChanges == 1)
        let stored = try #require(try await log.event(id: id))
        #expect(stored.event.type == .paymentSucceeded)
        #expect(stored.event.id == id)
        #expect(stored.event.data.orderID == "ord_1234")
        let revisions = try await log.revisions(of: id)
        #expect(revisions.map(\.event.type) == [.unmapped])
        // Re-placed in its order's story, and reported: the unmapped form moved nothing, the new one pays the order.
        #expect(revisions.first?.event.data.order?.sequence == 1 && revisions.first?.event.data.order?.state == .unknown)
        #expect(stored.event.data.order == OrderPlacement(sequence: 2, state: .succeeded, previousState: .unknown, transition: .advanced))
        #expect(result.orderChangeCount == 1)
        #expect(result.orderChanges.first?.summary == "\(id) order: unknown (advanced) -> succeeded (advanced), sequence 1 -> 2")
        #expect(try await log.order(provider: "juspay", orderID: "ord_1234")?.state == .succeeded)
        // "orders" takes every type, so it had the unmapped original and gets the fixed one;
        // "audit" takes only refund.* and gets neither.
        #expect(try await log.deliveries(forEvent: id).map(\.endpoint) == ["orders", "orders"])
    }

    @Test func renormalizePicksUpTheCorrectedRefundFieldsOfTheShippedJuspayHandler() async throws {
        // The handler as it was before refunds read refunds[]: the refund event carried the order's amount.
        let handlersDir = NSTemporaryDirectory() + "callbridge-handlers-" + UUID().uuidString
        try FileManager.default.copyItem(atPath: repositoryRoot + "/handlers", toPath: handlersDir)
        defer { try? FileManager.default.removeItem(atPath: handlersDir) }
        let file = handlersDir + "/juspay.yaml"
        let shipped = try String(contentsOfFile: file, encoding: .utf8)
        let start = try #require(shipped.range(of: "    fields_for:\n"))
        let end = try #require(shipped.range(of: "    merchant_data:\n", range: start.upperBound..<shipped.endIndex))
        try (String(shipped[..<start.lowerBound]) + String(shipped[end.lowerBound...])).write(toFile: file, atomically: true, encoding: .utf8)
        let server = try TestServer(configYAML: config(sinkPort: 9).replacingOccurrences(of: "endpoints:", with: "handlers: \(handlersDir)\nendpoints:"),
                                    handlersDirectory: handlersDir)
        defer { server.directory.cleanUp() }
        let log = try SQLiteEventLog(path: server.databasePath)
        let app = CallbridgeApplication.make(config: server.config, handlers: server.handlers, log: log, logger: Logger(label: "test"))
        let body = #"{"id":"evt_refund_old","event_name":"ORDER_REFUNDED","date_created":"2026-11-24T08:15:02Z","content":{"order":{"order_id":"ord_77","status":"CHARGED","amount":100.00,"currency":"USD","refunds":[{"unique_request_id":"rf_1","amount":10.00,"status":"SUCCESS"},{"unique_request_id":"rf_2","amount":25.00,"status":"SUCCESS"}]}}}"#
        let id = try await app.test(.live) { client in
            try #require(try eventID(in: try await client.post("/juspay/webhook", json: body, headers: juspayAuth)))
        }
        let before = try #require(try await log.event(id: id))
        #expect(before.event.data.amount?.text == "100.00")
        #expect(before.event.data.refundID == nil)

        let handlers = try HandlerDirectoryLoader(directory: repositoryRoot + "/handlers", secrets: SecretSource(environment: testEnvironment)).load()
        let result = try await ReplayService(log: log, endpoints: server.config.endpoints, handlers: handlers)
            .run(ReplaySelection(eventIDs: [id]), options: .init(renormalize: true))
        #expect(result.renormalized == 1)
        let after = try #require(try await log.event(id: id))
        #expect(after.event.type == .refundSucceeded)
        #expect(after.event.data.amount?.text == "25.00")
        #expect(after.event.data.refundID == "rf_2")
        #expect(after.event.data.orderAmount?.text == "100.00")
        #expect(try await log.revisions(of: id).map { $0.event.data.amount?.text } == ["100.00"])
    }
}
