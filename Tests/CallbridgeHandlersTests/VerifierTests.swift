import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

private func inbound(headers: [(String, String)] = [], body: String = "", params: [(String, String)] = [], remote: String? = nil) -> InboundRequest {
    InboundRequest(raw: Support.request("POST", "/generic/webhook", headers: headers, body: body.bytes, remote: remote), params: params)
}

@Suite("Standard Webhooks inbound verifier")
struct StandardWebhooksVerifierTests {
    // The example from the Standard Webhooks specification / Svix documentation.
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    static let id = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let timestamp: Int64 = 1_614_265_330
    static let body = #"{"test": 2432232314}"#
    static let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    static func verifier(_ secrets: [String] = [secret], tolerance: ConfigDuration = .seconds(300)) -> StandardWebhooksVerifier {
        StandardWebhooksVerifier(keys: secrets.map { StandardWebhooksVerifier.decodeSecret($0)! }, tolerance: tolerance)
    }

    static func request(signature: String = signature, timestamp: String = String(timestamp), body: String = body) -> InboundRequest {
        inbound(headers: [("webhook-id", id), ("webhook-timestamp", timestamp), ("webhook-signature", signature)], body: body)
    }

    let now = Timestamp(secondsSinceEpoch: timestamp + 10)

    @Test("the specification's example signature verifies")
    func specVector() {
        #expect(StandardWebhooksVerifier.signature(key: StandardWebhooksVerifier.decodeSecret(Self.secret)!, id: Self.id,
                                                   timestamp: Self.timestamp, body: Self.body.bytes) == Self.signature)
        #expect(Self.verifier().verify(Self.request(), now: now) == .passed)
        #expect(Self.verifier().method == .hmac)
    }

    @Test("any one matching v1 signature in a space-separated list passes")
    func severalSignatures() {
        let header = "v1,Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm8= v2,abc " + Self.signature
        #expect(Self.verifier().verify(Self.request(signature: header), now: now) == .passed)
    }

    @Test("either of two secrets verifies during rotation")
    func rotation() {
        let verifier = Self.verifier(["whsec_" + ByteEncoding.base64(Array("another secret key".utf8)), Self.secret])
        #expect(verifier.verify(Self.request(), now: now) == .passed)
    }

    @Test("a modified body, a wrong signature or only non-v1 signatures fail with badSignature")
    func badSignatures() {
        #expect(Self.verifier().verify(Self.request(body: #"{"test": 2432232315}"#), now: now) == .failed(.badSignature))
        #expect(Self.verifier().verify(Self.request(signature: "v1,AAAA"), now: now) == .failed(.badSignature))
        #expect(Self.verifier().verify(Self.request(signature: "v2," + Self.signature.dropFirst(3)), now: now) == .failed(.badSignature))
        #expect(Self.verifier().verify(Self.request(timestamp: "yesterday"), now: now) == .failed(.badSignature))
    }

    @Test("timestamps outside the tolerance fail with staleTimestamp, in either direction")
    func stale() {
        let verifier = Self.verifier()
        #expect(verifier.verify(Self.request(), now: Timestamp(secondsSinceEpoch: Self.timestamp + 300)) == .passed)
        #expect(verifier.verify(Self.request(), now: Timestamp(secondsSinceEpoch: Self.timestamp + 301)) == .failed(.staleTimestamp))
        #expect(verifier.verify(Self.request(), now: Timestamp(secondsSinceEpoch: Self.timestamp - 301)) == .failed(.staleTimestamp))
    }

    @Test("absurd timestamps are stale, never a crash", arguments: [
        "9223372036854775807", "-9223372036854775808", "99999999999999999", "-99999999999999999",
    ])
    func absurdTimestamps(timestamp: String) {
        #expect(Self.verifier().verify(Self.request(timestamp: timestamp), now: now) == .failed(.staleTimestamp))
    }

    @Test("missing headers fail with missingSignature and no keys with secretNotConfigured")
    func missing() {
        #expect(Self.verifier().verify(inbound(body: Self.body), now: now) == .failed(.missingSignature))
        #expect(StandardWebhooksVerifier(keys: []).verify(Self.request(), now: now) == .failed(.secretNotConfigured))
    }

    @Test("secrets must be whsec_ base64")
    func secretDecoding() {
        #expect(StandardWebhooksVerifier.decodeSecret(Self.secret)?.count == 24)
        #expect(StandardWebhooksVerifier.decodeSecret("whsec_") == nil)
        #expect(StandardWebhooksVerifier.decodeSecret("whsec_not base64!") == nil)
    }
}

@Suite("Generic HMAC verifier")
struct HMACVerifierTests {
    static let secret = "gh-webhook-secret"
    static let body = #"{"action":"completed","payment":{"id":"pay_1","amount":"12.00"}}"#
    static let now = Timestamp(secondsSinceEpoch: 1_795_428_000)

    static func mac(_ message: String, key: String = secret, algorithm: DigestAlgorithm = .sha256) -> [UInt8] {
        HMAC.authenticate(algorithm, key: Array(key.utf8), message: Array(message.utf8))
    }

    @Test("a sha256= prefixed hex signature over the raw body passes, prefix case ignored")
    func prefixedHex() {
        let verifier = HMACVerifier(algorithm: .sha256, encoding: .hex, location: .header("x-hub-signature-256"), prefix: "sha256=", secrets: [Self.secret])
        let signature = ByteEncoding.hex(Self.mac(Self.body))
        #expect(verifier.verify(inbound(headers: [("X-Hub-Signature-256", "sha256=" + signature)], body: Self.body), now: Self.now) == .passed)
        #expect(verifier.verify(inbound(headers: [("X-Hub-Signature-256", "SHA256=" + signature)], body: Self.body), now: Self.now) == .passed)
        #expect(verifier.verify(inbound(headers: [("X-Hub-Signature-256", signature)], body: Self.body), now: Self.now) == .failed(.badSignature))
        #expect(verifier.verify(inbound(headers: [("X-Hub-Signature-256", "sha1=" + signature)], body: Self.body), now: Self.now) == .failed(.badSignature))
        #expect(verifier.verify(inbound(body: Self.body), now: Self.now) == .failed(.missingSignature))
    }

    @Test("a sha256= prefixed base64 signature with a signed timestamp passes within the tolerance")
    func base64WithTimestamp() {
        let verifier = HMACVerifier(algorithm: .sha256, encoding: .base64, location: .header("x-signature"), prefix: "sha256=",
                                    secrets: [Self.secret], timestampHeader: "x-timestamp", tolerance: .seconds(300))
        let ts = Self.now.secondsSinceEpoch - 120
        let signature = "sha256=" + ByteEncoding.base64(Self.mac("\(ts).\(Self.body)"))
        let request = inbound(headers: [("X-Signature", signature), ("X-Timestamp", String(ts))], body: Self.body)
        #expect(verifier.verify(request, now: Self.now) == .passed)
        // The timestamp is part of the signed message: changing it breaks the signature.
        let shifted = inbound(headers: [("X-Signature", signature), ("X-Timestamp", String(ts + 1))], body: Self.body)
        #expect(verifier.verify(shifted, now: Self.now) == .failed(.badSignature))
        // A body-only signature does not pass when a timestamp is required.
        let bodyOnly = inbound(headers: [("X-Signature", "sha256=" + ByteEncoding.base64(Self.mac(Self.body))), ("X-Timestamp", String(ts))], body: Self.body)
        #expect(verifier.verify(bodyOnly, now: Self.now) == .failed(.badSignature))
        // Missing timestamp header.
        #expect(verifier.verify(inbound(headers: [("X-Signature", signature)], body: Self.body), now: Self.now) == .failed(.missingSignature))
    }

    @Test("a stale timestamp fails with staleTimestamp even when the signature is right")
    func staleTimestamp() {
        let verifier = HMACVerifier(algorithm: .sha256, encoding: .base64, location: .header("x-signature"), prefix: "sha256=",
                                    secrets: [Self.secret], timestampHeader: "x-timestamp", tolerance: .seconds(300))
        for ts in [Self.now.secondsSinceEpoch - 301, Self.now.secondsSinceEpoch + 301] {
            let signature = "sha256=" + ByteEncoding.base64(Self.mac("\(ts).\(Self.body)"))
            let request = inbound(headers: [("X-Signature", signature), ("X-Timestamp", String(ts))], body: Self.body)
            #expect(verifier.verify(request, now: Self.now) == .failed(.staleTimestamp))
        }
    }

    @Test("absurd signed timestamps are stale, never a crash", arguments: [
        "9223372036854775807", "-9223372036854775808", "99999999999999999",
    ])
    func absurdTimestamps(timestamp: String) {
        let verifier = HMACVerifier(algorithm: .sha256, encoding: .hex, location: .header("x-signature"), secrets: [Self.secret],
                                    timestampHeader: "x-timestamp")
        let signature = ByteEncoding.hex(Self.mac("\(timestamp).\(Self.body)"))
        let request = inbound(headers: [("X-Signature", signature), ("X-Timestamp", timestamp)], body: Self.body)
        #expect(verifier.verify(request, now: Self.now) == .failed(.staleTimestamp))
    }

    @Test("SHA-1 and SHA-512 signatures of the right length pass; truncated ones fail")
    func otherAlgorithms() {
        for algorithm in [DigestAlgorithm.sha1, .sha512] {
            let verifier = HMACVerifier(algorithm: algorithm, encoding: .hex, location: .header("x-sig"), secrets: [Self.secret])
            let full = ByteEncoding.hex(Self.mac(Self.body, algorithm: algorithm))
            #expect(verifier.verify(inbound(headers: [("X-Sig", full)], body: Self.body), now: Self.now) == .passed)
            #expect(verifier.verify(inbound(headers: [("X-Sig", String(full.prefix(40 - 2)))], body: Self.body), now: Self.now) == .failed(.badSignature))
        }
    }

    @Test("a signature in a parameter over the sorted other parameters passes")
    func paramPayload() {
        let verifier = HMACVerifier(algorithm: .sha256, encoding: .hex, location: .param("sig"), payload: .params, secrets: [Self.secret])
        let params = [("status", "paid"), ("amount", "10.00"), ("order_id", "o 1")]
        let signature = ByteEncoding.hex(Self.mac("amount=10.00&order_id=o 1&status=paid"))
        #expect(verifier.verify(inbound(params: params + [("sig", signature)]), now: Self.now) == .passed)
        #expect(verifier.verify(inbound(params: [("status", "failed"), ("amount", "10.00"), ("order_id", "o 1"), ("sig", signature)]), now: Self.now)
                == .failed(.badSignature))
    }

    @Test("either of two secrets verifies during rotation; none configured is secretNotConfigured")
    func rotation() {
        let verifier = HMACVerifier(algorithm: .sha256, encoding: .hex, location: .header("x-sig"), secrets: ["old", "new"])
        for key in ["old", "new"] {
            let signature = ByteEncoding.hex(Self.mac(Self.body, key: key))
            #expect(verifier.verify(inbound(headers: [("X-Sig", signature)], body: Self.body), now: Self.now) == .passed)
        }
        let other = ByteEncoding.hex(Self.mac(Self.body, key: "older"))
        #expect(verifier.verify(inbound(headers: [("X-Sig", other)], body: Self.body), now: Self.now) == .failed(.badSignature))
        let none = HMACVerifier(algorithm: .sha256, encoding: .hex, location: .header("x-sig"), secrets: [])
        #expect(none.verify(inbound(headers: [("X-Sig", other)], body: Self.body), now: Self.now) == .failed(.secretNotConfigured))
    }
}

@Suite("IP allow-list verifier")
struct IPAllowlistVerifierTests {
    static let verifier = IPAllowlistVerifier(networks: [
        "203.0.113.0/24", "198.51.100.10", "10.0.0.0/9", "2001:db8::/32", "2a01:4f8:c0c:1234::1/128",
    ].map { IPAllowlistVerifier.Network($0)! })

    @Test("addresses inside a configured network pass", arguments: [
        "203.0.113.0", "203.0.113.7", "203.0.113.255", "198.51.100.10", "10.0.0.1", "10.127.255.255",
        "2001:db8::1", "2001:db8:ffff:ffff::5", "2001:DB8:1:2:3:4:5:6", "2a01:4f8:c0c:1234::1", "2001:db8::9%eth0",
    ])
    func allowed(address: String) {
        #expect(Self.verifier.verify(inbound(remote: address), now: Support.now) == .passed)
        #expect(Self.verifier.method == .ipAllowlist)
    }

    @Test("IPv4-mapped IPv6 peers match IPv4 networks", arguments: ["::ffff:203.0.113.9", "::ffff:198.51.100.10", "::FFFF:10.1.2.3"])
    func mapped(address: String) {
        #expect(Self.verifier.verify(inbound(remote: address), now: Support.now) == .passed)
    }

    @Test("addresses outside every network fail with addressNotAllowed", arguments: [
        "203.0.114.1", "198.51.100.11", "10.128.0.0", "11.0.0.1", "2001:db9::1", "2a01:4f8:c0c:1234::2", "::ffff:203.0.114.1",
        "::203.0.113.9", "::1", "127.0.0.1", "not-an-ip", "",
    ])
    func denied(address: String) {
        #expect(Self.verifier.verify(inbound(remote: address), now: Support.now) == .failed(.addressNotAllowed))
    }

    @Test("a request without a peer address fails")
    func noAddress() {
        #expect(Self.verifier.verify(inbound(remote: nil), now: Support.now) == .failed(.addressNotAllowed))
    }

    @Test("a forwarded-for header is not trusted")
    func forwardedIgnored() {
        let request = inbound(headers: [("X-Forwarded-For", "203.0.113.7")], remote: "192.0.2.1")
        #expect(Self.verifier.verify(request, now: Support.now) == .failed(.addressNotAllowed))
    }

    @Test("malformed networks are refused", arguments: ["10.0.0.0/33", "2001:db8::/129", "300.1.1.1", "abc", "10.0.0.0/x", "10.0.0.0/-1", ""])
    func badNetworks(text: String) {
        #expect(IPAllowlistVerifier.Network(text) == nil)
    }

    @Test("a /0 network allows every address of its family")
    func zeroPrefix() {
        let v4 = IPAllowlistVerifier(networks: [IPAllowlistVerifier.Network("0.0.0.0/0")!])
        #expect(v4.verify(inbound(remote: "8.8.8.8"), now: Support.now) == .passed)
        #expect(v4.verify(inbound(remote: "2001:db8::1"), now: Support.now) == .failed(.addressNotAllowed))
    }
}

@Suite("API key verifier")
struct APIKeyVerifierTests {
    @Test("both keys are valid during rotation; other keys are refused")
    func rotation() {
        let verifier = APIKeyVerifier(header: "x-api-key", keys: ["key-2025-old", "key-2026-new"])
        #expect(verifier.verify(inbound(headers: [("X-Api-Key", "key-2025-old")]), now: Support.now) == .passed)
        #expect(verifier.verify(inbound(headers: [("X-API-KEY", "key-2026-new")]), now: Support.now) == .passed)
        #expect(verifier.verify(inbound(headers: [("X-Api-Key", "key-2026-new ")]), now: Support.now) == .failed(.badCredentials))
        #expect(verifier.verify(inbound(headers: [("X-Api-Key", "key-2026")]), now: Support.now) == .failed(.badCredentials))
        #expect(verifier.verify(inbound(), now: Support.now) == .failed(.missingCredentials))
        #expect(verifier.method == .apiKey)
    }

    @Test("a Bearer prefix is required when configured and matched case-insensitively")
    func prefix() {
        let verifier = APIKeyVerifier(header: "authorization", prefix: "Bearer ", keys: ["tok_live_1"])
        #expect(verifier.verify(inbound(headers: [("Authorization", "Bearer tok_live_1")]), now: Support.now) == .passed)
        #expect(verifier.verify(inbound(headers: [("Authorization", "bearer tok_live_1")]), now: Support.now) == .passed)
        #expect(verifier.verify(inbound(headers: [("Authorization", "tok_live_1")]), now: Support.now) == .failed(.badCredentials))
        #expect(verifier.verify(inbound(headers: [("Authorization", "Basic tok_live_1")]), now: Support.now) == .failed(.badCredentials))
    }

    @Test("no configured keys is secretNotConfigured")
    func noKeys() {
        #expect(APIKeyVerifier(header: "x-api-key", keys: []).verify(inbound(headers: [("X-Api-Key", "x")]), now: Support.now) == .failed(.secretNotConfigured))
    }
}

@Suite("Basic auth verifier")
struct BasicAuthVerifierTests {
    @Test("any of several credential pairs passes during rotation and a password may contain colons")
    func rotation() {
        let verifier = BasicAuthVerifier(credentials: [.init(username: "u", password: "old"), .init(username: "u", password: "n:e:w")])
        #expect(verifier.verify(inbound(headers: [("Authorization", Support.basicAuth("u", "old"))]), now: Support.now) == .passed)
        #expect(verifier.verify(inbound(headers: [("Authorization", Support.basicAuth("u", "n:e:w"))]), now: Support.now) == .passed)
        #expect(verifier.verify(inbound(headers: [("Authorization", "basic " + ByteEncoding.base64(Array("u:old".utf8)))]), now: Support.now) == .passed)
        #expect(verifier.verify(inbound(headers: [("Authorization", Support.basicAuth("u", "new"))]), now: Support.now) == .failed(.badCredentials))
        #expect(BasicAuthVerifier(credentials: []).verify(inbound(), now: Support.now) == .failed(.secretNotConfigured))
    }
}
