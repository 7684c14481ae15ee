import CallbridgeCrypto
import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Testing

/// The order ledger as a merchant meets it (P7): the real binary, its SQLite
/// log, the shipped Juspay handler and a real sink. A late signed return after
/// the success reaches a default endpoint not at all and an `order_events: all`
/// endpoint marked `stale`; a registered 100.00 USD order paid with 1.00 is a
/// delivered `conflict`; `ordering: per_order` keeps one order's events in
/// order while its endpoint fails, without delaying another order.
@Suite struct OrderTruthTests {
    static let secret = "whsec_" + ByteEncoding.base64(Array("order-truth-endpoint-signing-k32".utf8))

    static func config(sinkPort: Int) -> String {
        """
        listen: {host: 127.0.0.1, port: 0}
        storage: {sqlite: ./data/callbridge.sqlite}
        handlers: \(repositoryRoot)/handlers
        admin: {token: "${ADMIN_TOKEN}"}
        dispatch: {lease_margin: 1s, poll_interval: 200ms, breaker_failures: 1000}
        endpoints:
          - {name: default, url: "http://127.0.0.1:\(sinkPort)/default", secret: "${ORDERS_SECRET}"}
          - {name: everything, url: "http://127.0.0.1:\(sinkPort)/everything", secret: "${ORDERS_SECRET}", order_events: all}
          - name: ordered
            url: http://127.0.0.1:\(sinkPort)/ordered
            secret: ${ORDERS_SECRET}
            order_events: all
            ordering: per_order
            retry_schedule: [0s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s]
        """
    }

    /// A signed Juspay webhook (`handlers/juspay.yaml`: HTTP Basic).
    static func webhook(id: String, order: String, event: String = "ORDER_SUCCEEDED", status: String = "CHARGED",
                        amount: String = "100.00", currency: String = "USD") -> [UInt8] {
        let body = #"{"id":"\#(id)","date_created":"2026-11-23T09:59:58Z","event_name":"\#(event)","content":{"order":{"order_id":"\#(order)","status":"\#(status)","amount":\#(amount),"currency":"\#(currency)"}}}"#
        return Wire.make("POST", "/juspay/webhook", headers: [
            ("Authorization", JuspayWebhook.authorization), ("Content-Type", "application/json"),
        ], body: Array(body.utf8))
    }

    static func post(_ server: LiveServer, _ request: [UInt8]) async {
        let (response, problem) = await server.exchange(request)
        #expect(response?.status == 200, "webhook: \(problem ?? response?.bodyText ?? "")")
    }

    static func envelopes(_ sink: RecordingSink, _ path: String, order: String) -> [JSONValue] {
        sink.received(path: path).compactMap { try? JSONParser().parse($0.body) }.filter { $0["data"]?["order_id"]?.stringValue == order }
    }

    static func simulate(_ server: LiveServer, _ arguments: [String]) throws {
        let result = try runCallbridge(["simulate"] + arguments + ["--to", "http://127.0.0.1:\(server.port)", "--handlers", repositoryRoot + "/handlers"],
                                       environment: server.environment, directory: server.directory)
        #expect(result.status == 0, "simulate \(arguments): \(result.output)")
    }

    @Test("a late signed PENDING_VBV return after ORDER_SUCCEEDED reaches a default endpoint not at all, an all endpoint as stale")
    func lateReturnIsStale() async throws {
        let sink = RecordingSink()
        try await sink.run { sinkPort in
            let server = try await LiveServer(config: Self.config(sinkPort: sinkPort), environment: ["ORDERS_SECRET": Self.secret])
            try Self.simulate(server, ["juspay", "succeeded", "--order-id", "ord_late"])
            try Self.simulate(server, ["juspay", "pending", "--channel", "redirect", "--order-id", "ord_late"])

            #expect(await eventually { Self.envelopes(sink, "/everything", order: "ord_late").count == 2 })
            let everything = Self.envelopes(sink, "/everything", order: "ord_late")
            #expect(everything.map { $0["type"]?.stringValue } == ["payment.succeeded", "payment.pending"])
            #expect(everything.map { $0["data"]?["order"]?["transition"]?.stringValue } == ["advanced", "stale"])
            #expect(everything.last?["data"]?["verified"] == .bool(true))
            #expect(everything.last?["data"]?["order"]?["state"]?.stringValue == "succeeded")
            #expect(everything.last?["data"]?["order"]?["sequence"] == .number("2"))

            // The story says the same, and the stale event has no delivery to the default endpoint at all.
            let story = await server.adminJSON("/admin/v1/orders/juspay/ord_late")
            #expect(story?["state"]?.stringValue == "succeeded")
            guard case .array(let timeline)? = story?["timeline"], timeline.count == 2 else {
                Issue.record("timeline: \(story?.rendered() ?? "none")")
                _ = try await server.stop()
                return
            }
            #expect(timeline[1]["channel"]?.stringValue == "redirect" && timeline[1]["order"]?["transition"]?.stringValue == "stale")
            let endpointsOfStale = Self.endpoints(timeline[1])
            #expect(endpointsOfStale == ["everything", "ordered"])
            #expect(Self.endpoints(timeline[0]) == ["default", "everything", "ordered"])
            #expect(await eventually { Self.envelopes(sink, "/default", order: "ord_late").count == 1 })
            #expect(Self.envelopes(sink, "/default", order: "ord_late").map { $0["type"]?.stringValue } == ["payment.succeeded"])

            let shown = try runCallbridge(["orders", "show", "juspay", "ord_late"], environment: server.environment, directory: server.directory)
            #expect(shown.status == 0 && shown.output.contains("state     succeeded") && shown.output.contains("stale"), "\(shown.output)")
            #expect(try await server.stop() == 0)
        }
    }

    static func endpoints(_ item: JSONValue) -> [String] {
        guard case .array(let deliveries)? = item["deliveries"] else { return [] }
        return deliveries.compactMap { $0["endpoint"]?.stringValue }.sorted()
    }

    @Test("a registered 100.00 USD order paid with 1.00 is delivered as a conflict, counted and logged")
    func amountConflict() async throws {
        let sink = RecordingSink()
        try await sink.run { sinkPort in
            let server = try await LiveServer(config: Self.config(sinkPort: sinkPort), environment: ["ORDERS_SECRET": Self.secret])
            let register = Wire.make("POST", "/admin/v1/orders", headers: [
                ("Authorization", "Bearer \(LiveServer.adminToken)"), ("Content-Type", "application/json"),
            ], body: Array(#"{"provider":"juspay","order_id":"ord_cheap","amount":"100.00","currency":"USD"}"#.utf8))
            let (registered, problem) = await server.exchange(register)
            #expect(registered?.status == 201, "register: \(problem ?? registered?.bodyText ?? "")")

            await Self.post(server, Self.webhook(id: "wh_cheap_1", order: "ord_cheap", amount: "1.00"))
            #expect(await eventually { Self.envelopes(sink, "/default", order: "ord_cheap").count == 1 })
            let delivered = Self.envelopes(sink, "/default", order: "ord_cheap").first
            #expect(delivered?["data"]?["order"]?["transition"]?.stringValue == "conflict")
            #expect(delivered?["data"]?["order"]?["state"]?.stringValue == "unknown")
            #expect(delivered?["data"]?["order"]?["mismatch"] == .array([
                .object([("field", .string("amount")), ("expected", .string("100.00")), ("got", .string("1.00"))]),
            ]))

            // The right amount, spelled differently, then advances the order.
            await Self.post(server, Self.webhook(id: "wh_cheap_2", order: "ord_cheap", amount: "100"))
            #expect(await eventually { Self.envelopes(sink, "/default", order: "ord_cheap").count == 2 })
            #expect(Self.envelopes(sink, "/default", order: "ord_cheap").last?["data"]?["order"]?["transition"]?.stringValue == "advanced")

            let metrics = await server.exchange(Wire.make("GET", "/metrics")).response?.bodyText ?? ""
            let exposition = try PrometheusExposition(parsing: metrics)
            #expect(exposition.value("callbridge_order_mismatches_total", ["provider": "juspay"]) == 1)
            #expect(server.serve.output.contains("order mismatch"))

            let listed = await server.adminJSON("/admin/v1/orders?mismatch=true")
            guard case .array(let orders)? = listed?["data"] else { Issue.record("orders list: \(listed?.rendered() ?? "none")"); return }
            #expect(orders.compactMap { $0["order_id"]?.stringValue } == ["ord_cheap"])
            #expect(orders.first?["state"]?.stringValue == "succeeded" && orders.first?["expected_amount"]?.stringValue == "100.00")

            let cli = try runCallbridge(["orders", "list", "--mismatch", "--json"], environment: server.environment, directory: server.directory)
            #expect(cli.status == 0 && cli.output.contains("\"ord_cheap\""), "\(cli.output)")
            let again = try runCallbridge(["orders", "expect", "juspay", "ord_cheap", "99.00", "USD"], environment: server.environment, directory: server.directory)
            #expect(again.status != 0 && again.output.contains("registered already"), "\(again.output)")
            #expect(try await server.stop() == 0)
        }
    }

    @Test("ordering: per_order delivers one order's events one at a time in commit order while its head fails; another order is not delayed")
    func perOrderOrdering() async throws {
        let sink = RecordingSink()
        // The first event of ord_A fails twice, then keeps failing until ord_B has reached the sink:
        // if ord_B waited behind ord_A's failing head, ord_A would never finish and the test would
        // time out. No bet on timing, so a loaded machine does not decide the test.
        sink.script("/ordered", bodyContaining: "wh_A1", [
            .status(500, body: "boom"), .status(500, body: "boom"), .statusUntilReceived(500, marker: "wh_B1"),
        ])
        try await sink.run { sinkPort in
            let server = try await LiveServer(config: Self.config(sinkPort: sinkPort), environment: ["ORDERS_SECRET": Self.secret])
            await Self.post(server, Self.webhook(id: "wh_A1", order: "ord_A", event: "TXN_CREATED", status: "PENDING_VBV"))
            await Self.post(server, Self.webhook(id: "wh_A2", order: "ord_A"))
            await Self.post(server, Self.webhook(id: "wh_A3", order: "ord_A", event: "ORDER_REFUNDED", status: "CHARGED"))
            await Self.post(server, Self.webhook(id: "wh_B1", order: "ord_B"))

            #expect(await eventually(timeout: .seconds(30)) {
                sink.received(path: "/ordered").contains { String(decoding: $0.body, as: UTF8.self).contains("wh_A3") }
            })
            let received = sink.received(path: "/ordered").compactMap { try? JSONParser().parse($0.body) }
            let sequence = received.compactMap { envelope -> String? in
                guard let order = envelope["data"]?["order_id"]?.stringValue, let id = envelope["data"]?["provider_event_id"]?.stringValue else { return nil }
                return order + ":" + id
            }
            let orderA = sequence.filter { $0.hasPrefix("ord_A:") }
            // ord_A's head went out at least three times (two scripted failures, then one success at
            // the least), and nothing of ord_A overtook it.
            let headAttempts = orderA.prefix { $0 == "ord_A:wh_A1" }.count
            #expect(headAttempts >= 3 && orderA == Array(repeating: "ord_A:wh_A1", count: headAttempts) + ["ord_A:wh_A2", "ord_A:wh_A3"], "\(sequence)")
            // ord_B went out before ord_A's head finally succeeded (its last attempt).
            let lastA1 = sequence.lastIndex(of: "ord_A:wh_A1") ?? 0
            #expect(sequence.firstIndex(of: "ord_B:wh_B1").map { $0 < lastA1 } == true, "\(sequence)")
            // Each went out in story order with its sequence number.
            let sequences = received.filter { $0["data"]?["order_id"]?.stringValue == "ord_A" }.compactMap { $0["data"]?["order"]?["sequence"] }
            #expect(sequences == Array(repeating: .number("1"), count: headAttempts) + [.number("2"), .number("3")])
            #expect(try await server.stop() == 0)
        }
    }
}
