import CallbridgeCrypto
import CallbridgeModel
import CallbridgeServer
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// What the server logs about ingest: JSON lines with a request id, and never
/// a credential or a card number.
@Suite struct RequestLoggingTests {
    /// Lines written by a `JSONLogHandler`, kept in memory.
    final class LineCapture: Sendable {
        let lines = Mutex<[String]>([])
        func logger() -> Logger {
            var logger = Logger(label: "callbridge") { label in
                JSONLogHandler(label: label, write: { line in self.lines.withLock { $0.append(line) } })
            }
            logger.logLevel = .trace
            return logger
        }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test func jsonLogLinesParseAndEveryIngestLineCarriesARequestID() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        let capture = LineCapture()
        try await server.run(logger: capture.logger()) { client, _ in
            let accepted = try await client.post("/juspay/webhook", json: juspayWebhook(), headers: juspayAuth)
            let refused = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_2"), headers: basicAuth("merchant_hooks", "nope"))
            #expect(accepted.status == .ok)
            #expect(refused.status == .unauthorized)
        }
        let parsed = try capture.all.map { try JSONParser().parse(Array($0.utf8)) }
        #expect(!parsed.isEmpty)
        for line in parsed {
            #expect(line["timestamp"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) != nil)
            #expect(line["level"]?.stringValue != nil)
            #expect(line["message"]?.stringValue != nil)
            #expect(line["label"] == .string("callbridge"))
        }
        let recorded = try #require(parsed.first { $0["message"] == .string("event recorded") })
        let refused = try #require(parsed.first { $0["message"] == .string("request refused") })
        let firstID = try #require(recorded["metadata"]?["request_id"]?.stringValue)
        let secondID = try #require(refused["metadata"]?["request_id"]?.stringValue)
        #expect(!firstID.isEmpty && firstID != secondID)
        #expect(recorded["metadata"]?["route"] == .string("juspay/webhook"))
        #expect(refused["metadata"]?["reason"] == .string("verification_failed"))
    }

    @Test func textLogLinesCarryTheRequestIDAndRouteInSortedKeys() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        let lines = Mutex<[String]>([])
        let at = Timestamp(secondsSinceEpoch: 1_795_428_000)
        var logger = Logger(label: "callbridge") { label in
            TextLogHandler(label: label, clock: { at }, write: { line in lines.withLock { $0.append(line) } })
        }
        logger.logLevel = .info
        try await server.run(logger: logger) { client, _ in
            let accepted = try await client.post("/juspay/webhook", json: juspayWebhook(), headers: juspayAuth)
            #expect(accepted.status == .ok)
        }
        let recorded = try #require(lines.withLock { $0 }.first { $0.hasSuffix("] event recorded") })
        // TIMESTAMP LEVEL LABEL: key=value … [SOURCE] MESSAGE, keys sorted.
        #expect(recorded.hasPrefix(at.rfc3339 + " info callbridge: "), "\(recorded)")
        #expect(recorded.contains(" [CallbridgeServer] event recorded"), "\(recorded)")
        let keys = recorded.split(separator: " ").compactMap { part -> String? in
            guard let equals = part.firstIndex(of: "=") else { return nil }
            return String(part[..<equals])
        }
        #expect(keys == keys.sorted() && keys.contains("request_id") && keys.contains("route"), "\(recorded)")
        #expect(!keys.contains("hb.request.id"))
        #expect(recorded.contains("route=juspay/webhook"))
    }

    @Test func cardNumbersAndBasicAuthPasswordsNeverReachTheLogs() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        let capture = LineCapture()
        let card = "4111111111111111"
        let wrongPassword = "hunter2-wrong-pass"
        let cardFields = #","card_number":"\#(card)","card_isin":"411111","cvv":"123""#
        try await server.run(logger: capture.logger()) { client, _ in
            let accepted = try await client.post("/juspay/webhook", json: juspayWebhook(extraOrderFields: cardFields), headers: juspayAuth)
            #expect(accepted.status == .ok)
            let refused = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_3", extraOrderFields: cardFields),
                                                headers: basicAuth("merchant_hooks", wrongPassword))
            #expect(refused.status == .unauthorized)
            #expect(try await client.post("/juspay/webhook", json: "{not json " + card, headers: juspayAuth).status == .badRequest)
        }
        let logs = capture.all.joined(separator: "\n")
        #expect(!logs.isEmpty)
        for secret in [card, "s3cret-basic-pass", wrongPassword,
                       ByteEncoding.base64(Array("merchant_hooks:s3cret-basic-pass".utf8)),
                       ByteEncoding.base64(Array("merchant_hooks:\(wrongPassword)".utf8))] {
            #expect(!logs.contains(secret), "logged: \(secret)")
        }
    }
}
