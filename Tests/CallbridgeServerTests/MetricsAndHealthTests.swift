import CallbridgeHandlers
import CallbridgeModel
import CallbridgeServer
import CallbridgeStore
import CallbridgeStoreSQLite
import CallbridgeTestSupport
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

/// `/metrics`, `/healthz` and `/readyz` through a real listener and a real log.
@Suite struct MetricsAndHealthTests {
    static let endpointsYAML = """
    endpoints:
      - {name: orders, url: "http://127.0.0.1:9/orders", secret: "${ORDERS_SECRET}"}
    """

    func scrape(_ client: any TestClientProtocol) async throws -> PrometheusExposition {
        let response = try await client.get("/metrics")
        #expect(response.status == .ok)
        #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
        return try PrometheusExposition(parsing: String(buffer: response.body))
    }

    @Test func metricsParseAsPrometheusTextAndCountersMoveWithTraffic() async throws {
        let server = try TestServer(configYAML: Self.endpointsYAML)
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            let ok = ["provider": "juspay", "route": "webhook", "status": "200"]
            let unauthorized = ["provider": "juspay", "route": "webhook", "status": "401"]
            let badCredentials = ["provider": "juspay", "route": "webhook", "reason": "bad_credentials"]
            let succeeded = ["provider": "juspay", "type": "payment.succeeded"]
            let before = try await scrape(client)
            #expect(before.value("callbridge_requests_total", ok) == nil)

            #expect(try await client.post("/juspay/webhook", json: juspayWebhook(), headers: juspayAuth).status == .ok)
            #expect(try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_2"), headers: basicAuth("merchant_hooks", "guess")).status == .unauthorized)
            #expect(try await client.get("/nowhere").status == .notFound)

            let after = try await scrape(client)
            #expect(after.types["callbridge_requests_total"] == "counter")
            #expect(after.value("callbridge_requests_total", ok) == 1)
            #expect(after.value("callbridge_requests_total", unauthorized) == 1)
            #expect(after.value("callbridge_requests_total", ["provider": "none", "route": "none", "status": "404"]) == 1)
            #expect(after.value("callbridge_verification_failures_total", badCredentials) == 1)
            #expect(after.value("callbridge_events_total", succeeded) == 1)
            // Queue gauges come from the log: no dispatcher runs here, so the delivery waits.
            #expect(after.types["callbridge_delivery_backlog"] == "gauge")
            #expect(after.value("callbridge_delivery_backlog", ["endpoint": "orders"]) == 1)
            #expect(after.value("callbridge_deliveries_dead", ["endpoint": "orders"]) == 0)
            #expect((after.value("callbridge_delivery_oldest_due_age_seconds", ["endpoint": "orders"]) ?? -1) >= 0)

            // A duplicate is a request but not a new event.
            #expect(try await client.post("/juspay/webhook", json: juspayWebhook(), headers: juspayAuth).status == .ok)
            let third = try await scrape(client)
            #expect(third.value("callbridge_requests_total", ok) == 2)
            #expect(third.value("callbridge_events_total", succeeded) == 1)
        }
    }

    @Test func strictParserRefusesLinesThatAreNotExposition() throws {
        #expect(throws: PrometheusExposition.ParseError.self) { try PrometheusExposition(parsing: "callbridge_x 1\n") }
        #expect(throws: PrometheusExposition.ParseError.self) {
            try PrometheusExposition(parsing: "# TYPE a counter\na{b=\"c} 1\n")
        }
        #expect(throws: PrometheusExposition.ParseError.self) { try PrometheusExposition(parsing: "# TYPE a counter\na one\n") }
        let parsed = try PrometheusExposition(parsing: "# HELP a Things.\n# TYPE a counter\na{b=\"x\\\"y\",c=\"\"} 3\n")
        #expect(parsed.value("a", ["b": "x\"y", "c": ""]) == 3)
    }

    @Test func healthzAndReadyzAnswer200WhenTheLogIsWritable() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            let health = try await client.get("/healthz")
            let ready = try await client.get("/readyz")
            #expect(health.status == .ok)
            #expect(ready.status == .ok)
            let body = try JSONParser().parse(Array(buffer: ready.body))
            #expect(body["status"] == .string("ready"))
            #expect(body["log"] == .string("writable"))
        }
    }

    @Test func readyzIs503NamingTheLogWhenItCannotBeWritten() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run(readOnlyLog: true) { client, _ in
            let health = try await client.get("/healthz")
            let response = try await client.get("/readyz")
            #expect(health.status == .ok)
            #expect(response.status == .serviceUnavailable)
            let body = try JSONParser().parse(Array(buffer: response.body))
            #expect(body["status"] == .string("not_ready"))
            #expect(String(decoding: Array(buffer: response.body), as: UTF8.self).contains("\"check\":\"log\""))
        }
    }

    @Test func readyzIs503NamingTheHandlersWhenNoRouteIsLoaded() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        let log = try SQLiteEventLog(path: server.databasePath)
        let app = CallbridgeApplication.make(config: server.config, handlers: try HandlerSet(providers: []), log: log, logger: server.logs.logger())
        try await app.test(.live) { client in
            let response = try await client.get("/readyz")
            #expect(response.status == .serviceUnavailable)
            let text = String(decoding: Array(buffer: response.body), as: UTF8.self)
            #expect(text.contains("\"check\":\"handlers\""))
            #expect(!text.contains("\"check\":\"log\""))
        }
    }
}
