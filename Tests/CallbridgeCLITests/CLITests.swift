import CallbridgeModel
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

/// The `callbridge` executable, run as a user runs it.
@Suite(.serialized) struct CLITests {
    @Test func serveAcksAJuspayWebhookThatEventsListThenShowsAsPaymentSucceeded() async throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await startServer(in: dir)
        let body = #"{"id":"evt_V2_cli_1","date_created":"2026-11-23T09:59:58Z","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"ord_1234","txn_id":"txn_abc","status":"CHARGED","amount":100.00,"currency":"USD","customer_email":"test@example.com"}}}"#
        let status = try await TestClient.withClient(host: "127.0.0.1", port: server.port) { client in
            try await client.post("/juspay/webhook", headers: [
                .authorization: "Basic " + Data("merchant_hooks:s3cret-basic-pass".utf8).base64EncodedString(),
                .contentType: "application/json",
            ], body: ByteBuffer(string: body)).status
        }
        #expect(status == .ok)

        // Read while the server is still running.
        let list = try runCallbridge(["events", "list", "--json"], directory: dir)
        #expect(list.status == 0, "\(list.output)")
        let events = try JSONParser().parse(list.output.trimmingSpaces())
        guard case .array(let items) = events, let first = items.first else {
            Issue.record("expected a JSON array: \(list.output)")
            return
        }
        #expect(items.count == 1)
        #expect(first["type"] == .string("payment.succeeded"))
        #expect(first.value(atPath: "data.order_id") == .string("ord_1234"))
        #expect(first.value(atPath: "data.amount") == .string("100.00"))
        #expect(first.value(atPath: "data.currency") == .string("USD"))
        let id = try #require(first["id"]?.stringValue)

        let show = try runCallbridge(["events", "show", id, "--raw"], directory: dir)
        #expect(show.status == 0)
        #expect(show.output.contains("authorization: [redacted]"))
        #expect(!show.output.contains("s3cret-basic-pass"))

        #expect(try await server.terminate() == 0, "graceful shutdown exits 0:\n\(server.output)")
        #expect(!server.output.contains("s3cret-basic-pass"))
    }

    @Test func handlersCheckAcceptsTheShippedHandlers() throws {
        let result = try runCallbridge(["handlers", "check", "--handlers", repositoryRoot + "/handlers", "--strict"], directory: repositoryRoot)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ok: 6 route(s) in 3 handler file(s)"))
    }

    @Test func handlersCheckFindsTheFolderThroughTheConfig() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "handlers: \(repositoryRoot)/handlers\n".write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
        let result = try runCallbridge(["handlers", "check", "--config", "callbridge.yaml"], directory: dir)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("ok: 6 route(s) in 3 handler file(s)"))
    }

    @Test func handlersCheckFailsWithFileLineAndKeyForABrokenHandler() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        provider: acme
        routes:
          - name: webhook
            path: /acme/webhook
            methods: [POST]
            channel: callback
            format: json
            verify:
              - type: hmc
                secret: ${ACME_SECRET}
            type: {from: json:status, map: {paid: payment.succeeded}}
        """.write(toFile: dir + "/acme.yaml", atomically: true, encoding: .utf8)
        let result = try runCallbridge(["handlers", "check", "--handlers", dir], directory: dir)
        #expect(result.status != 0)
        #expect(result.output.contains("acme.yaml:9:"))
        #expect(result.output.contains("routes[0].verify[0].type"))
        #expect(result.output.contains("unknown verifier 'hmc'"))
    }

    @Test func serveRefusesAnInvalidConfigNamingTheFileAndKey() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        listen: {host: 127.0.0.1, port: 99999}
        """.write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let result = try runCallbridge(["serve", "--config", "bad.yaml"], directory: dir)
        #expect(result.status != 0)
        #expect(result.output.contains("bad.yaml:1:"))
        #expect(result.output.contains("listen.port"))
    }

    @Test func eventsListOnAMissingLogSaysSoAndFails() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "storage: {sqlite: ./nowhere/log.sqlite}\n".write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
        let result = try runCallbridge(["events", "list"], directory: dir)
        #expect(result.status != 0)
        #expect(result.output.contains("nowhere/log.sqlite"))
    }
}
