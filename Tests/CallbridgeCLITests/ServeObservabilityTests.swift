import CallbridgeCrypto
import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

/// `callbridge serve --log-format json` as a process: every output line is a
/// JSON object, and `/metrics` counts the dispatcher's attempts as well as
/// the requests (both share the process's registry).
@Suite(.serialized) struct ServeObservabilityTests {
    static let secret = "whsec_" + ByteEncoding.base64(Array("metrics-test-endpoint-signing-k!".utf8))

    @Test func jsonLogsAndMetricsFromTheRealBinaryIncludeDeliveryAttempts() async throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sink = RecordingSink()
        try await sink.run { sinkPort in
            try """
            listen: {host: 127.0.0.1, port: 0}
            storage: {sqlite: ./data/callbridge.sqlite}
            handlers: \(repositoryRoot)/handlers
            endpoints:
              - {name: orders, url: "http://127.0.0.1:\(sinkPort)/orders", secret: "${ORDERS_SECRET}"}
            """.write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
            var environment = providerSecrets
            environment["ORDERS_SECRET"] = Self.secret
            let serve = try ServeProcess(config: "callbridge.yaml", directory: dir, environment: environment, arguments: ["--log-format", "json"])
            try await serve.waitUntilListening()
            let port = serve.port

            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                let body = #"{"id":"evt_metrics_1","date_created":"2026-11-23T09:59:58Z","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"ord_1","status":"CHARGED","amount":10.00,"currency":"EUR"}}}"#
                let response = try await client.post("/juspay/webhook", headers: [
                    .authorization: "Basic " + Data("merchant_hooks:s3cret-basic-pass".utf8).base64EncodedString(),
                    .contentType: "application/json",
                ], body: ByteBuffer(string: body))
                #expect(response.status == .ok)
            }
            #expect(await eventually(timeout: .seconds(15)) { sink.received(path: "/orders").count == 1 })
            let delivered = await eventually(timeout: .seconds(10)) {
                let metrics = try await Self.scrape(port: port)
                return metrics.value("callbridge_delivery_attempts_total", ["endpoint": "orders", "outcome": "success"]) == 1
                    && metrics.value("callbridge_delivery_backlog", ["endpoint": "orders"]) == 0
            }
            #expect(delivered)
            let metrics = try await Self.scrape(port: port)
            #expect(metrics.value("callbridge_requests_total", ["provider": "juspay", "route": "webhook", "status": "200"]) == 1)
            #expect(metrics.value("callbridge_delivery_attempt_duration_seconds_count", ["endpoint": "orders"]) == 1)
            #expect(try await serve.terminate() == 0)

            let lines = serve.output.split(separator: "\n").filter { !$0.isEmpty }
            #expect(lines.count >= 3)
            for line in lines {
                let parsed = try? JSONParser().parse(Array(line.utf8))
                #expect(parsed?["level"]?.stringValue != nil && parsed?["message"]?.stringValue != nil, "not a JSON log line: \(line)")
            }
            #expect(lines.contains { $0.contains(#""message":"event recorded""#) && $0.contains(#""request_id":""#) })
        }
    }

    static func scrape(port: Int) async throws -> PrometheusExposition {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let response = try await client.get("/metrics")
            return try PrometheusExposition(parsing: String(buffer: response.body ?? ByteBuffer()))
        }
    }
}
