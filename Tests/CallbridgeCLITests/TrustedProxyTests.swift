import CallbridgeCrypto
import CallbridgeModel
import CallbridgeStore
import CallbridgeStoreSQLite
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The real binary with Luxfin's optional IP allow-list on: the forwarded
/// address counts only when the peer is a configured proxy.
@Suite(.serialized) struct TrustedProxyTests {
    func post(port: Int, forwardedFor: String) async throws -> (status: Int, body: String) {
        let body = #"{"order_id": 1048576, "status": "SUCCESS", "amount": 25.50, "product": "Gift card"}"#
        let signature = ByteEncoding.hex(HMAC.authenticate(.sha256, key: Array("lx_secret_key_def".utf8), message: Array(body.utf8)))
        return try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let response = try await client.post("/luxfin/webhook", headers: [
                .contentType: "application/json", HTTPField.Name("X-Luxfintech-Signature")!: "sha256=" + signature,
                HTTPField.Name("X-Forwarded-For")!: forwardedFor,
            ], body: ByteBuffer(string: body))
            return (Int(response.status.code), String(buffer: response.body ?? ByteBuffer()))
        }
    }

    func serve(trusted: String?) async throws -> (ServeProcess, String) {
        let dir = try makeTempDirectory()
        var environment = providerSecrets
        environment["LUXFIN_WEBHOOK_IP_ALLOWLIST"] = "on"
        let server = try await startServer(in: dir, listen: trusted.map { "trusted_proxies: [\($0)]" } ?? "", environment: environment)
        return (server, dir)
    }

    @Test func aForwardedLuxfinAddressIsHonouredOnlyFromATrustedProxy() async throws {
        let (untrusting, dir1) = try await serve(trusted: nil)
        defer { try? FileManager.default.removeItem(atPath: dir1) }
        let spoofed = try await post(port: untrusting.port, forwardedFor: "35.172.189.167")
        #expect(spoofed.status == 401, "\(spoofed.body)")
        _ = try await untrusting.terminate()

        let (trusting, dir2) = try await serve(trusted: "127.0.0.1/32")
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        let forwarded = try await post(port: trusting.port, forwardedFor: "35.172.189.167")
        #expect(forwarded.status == 200, "\(forwarded.body)")
        let other = try await post(port: trusting.port, forwardedFor: "198.51.100.7")
        #expect(other.status == 401, "\(other.body)")
        // A client-supplied address to the left of the proxy's own entry is not believed.
        let prepended = try await post(port: trusting.port, forwardedFor: "35.172.189.167, 198.51.100.7")
        #expect(prepended.status == 401, "\(prepended.body)")
        _ = try await trusting.terminate()

        // What was stored is the client's address, not the proxy's.
        let log = try SQLiteEventLog(path: dir2 + "/data/callbridge.sqlite")
        let events = try await log.events(matching: EventQuery(limit: 10))
        #expect(events.count == 1)
        let first = try #require(events.first)
        let stored = try #require(try await log.event(id: first.id))
        #expect(stored.raw.remoteAddress == "35.172.189.167")
        #expect(stored.event.data.verification == .hmac)
        await log.close()
    }
}
