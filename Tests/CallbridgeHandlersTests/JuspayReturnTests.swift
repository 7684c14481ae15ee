import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

/// An implementation of Juspay's return signature written from Juspay's
/// Python sample, independent of `JuspayReturnVerifier`:
///
///     params.pop('signature'); params.pop('signature_algorithm')
///     encoded = {quote_plus(k): quote_plus(v) for k, v in params.items()}
///     joined = '&'.join(f'{k}={encoded[k]}' for k in sorted(encoded))
///     base64(hmac_sha256(key, quote_plus(joined)))
enum JuspaySample {
    /// Python's `urllib.parse.quote_plus`: `A-Za-z0-9_.-~` kept, space to `+`, other bytes `%XX`.
    static func quotePlus(_ text: String) -> String {
        let safe = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~".utf8)
        var out = ""
        for byte in text.utf8 {
            if safe.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else if byte == 0x20 {
                out += "+"
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    static func sign(_ params: [(String, String)], key: String) -> String {
        var encoded: [String: String] = [:]
        for (k, v) in params where k != "signature" && k != "signature_algorithm" { encoded[quotePlus(k)] = quotePlus(v) }
        let joined = encoded.keys.sorted().map { "\($0)=\(encoded[$0]!)" }.joined(separator: "&")
        let mac = HMAC.authenticate(.sha256, key: Array(key.utf8), message: Array(quotePlus(joined).utf8))
        return ByteEncoding.base64(mac)
    }

    /// The query string the browser brings back: every value form-encoded once,
    /// and the signature encoded a second time (`%253D`), as Juspay sends it.
    static func returnQuery(_ params: [(String, String)], signature: String) -> String {
        (params.map { "\(quotePlus($0.0))=\(quotePlus($0.1))" } + ["signature=" + quotePlus(quotePlus(signature))])
            .joined(separator: "&")
    }
}

@Suite("Juspay return")
struct JuspayReturnTests {
    let set: HandlerSet

    init() throws {
        set = try Support.handlers()
    }

    static let charged: [(String, String)] = [
        ("order_id", "ord_20261123_0001"), ("status", "CHARGED"), ("status_id", "21"), ("signature_algorithm", "HMAC-SHA256"),
    ]
    /// Computed on this machine with python3 (urllib.parse.quote_plus, hmac, hashlib, base64) for `charged`
    /// and the response key `R3sp0nseK3y-test~2026`.
    static let chargedSignature = "6CIkvdunRXBPXhgdFxnKSCRwvL/NEh/V/64tv5N9ISQ="
    static let chargedSignatureInQuery = "6CIkvdunRXBPXhgdFxnKSCRwvL%252FNEh%252FV%252F64tv5N9ISQ%253D"

    static let awkward: [(String, String)] = [
        ("order_id", "ORD 77/€ a+b~c"), ("status", "AUTHENTICATION_FAILED"), ("status_id", "26"), ("signature_algorithm", "HMAC-SHA256"),
    ]
    /// python3 vector for `awkward` with the same key.
    static let awkwardSignature = "Xm4JSHVRWPBujYwoHO0HTfF+OrOME75jZsBh0lFdr0I="
    static let awkwardSignatureInQuery = "Xm4JSHVRWPBujYwoHO0HTfF%252BOrOME75jZsBh0lFdr0I%253D"

    @Test("the independent sample implementation reproduces the python vectors")
    func sampleMatchesPython() {
        #expect(JuspaySample.sign(Self.charged, key: Support.juspayResponseKey) == Self.chargedSignature)
        #expect(JuspaySample.sign(Self.awkward, key: Support.juspayResponseKey) == Self.awkwardSignature)
        #expect(JuspaySample.quotePlus(JuspaySample.quotePlus(Self.chargedSignature)) == Self.chargedSignatureInQuery)
    }

    @Test("the module's signature function agrees with the python vectors")
    func moduleMatchesPython() {
        #expect(JuspayReturnVerifier.signature(params: Self.charged, key: Support.juspayResponseKey) == Self.chargedSignature)
        #expect(JuspayReturnVerifier.signature(params: Self.awkward, key: Support.juspayResponseKey) == Self.awkwardSignature)
    }

    @Test("a correctly signed GET return with the fixed python vector is accepted and verified")
    func fixedVectorAccepted() throws {
        let query = "order_id=ord_20261123_0001&status=CHARGED&status_id=21&signature=\(Self.chargedSignatureInQuery)&signature_algorithm=HMAC-SHA256"
        let normalized = try Support.accepted(try Support.run(set, Support.request("GET", "/juspay/return", query: query)))
        let data = normalized.event.data
        #expect(normalized.event.type == .paymentSucceeded)
        #expect(data.channel == .redirect)
        #expect(data.verified)
        #expect(data.verification == .signatureParam)
        #expect(data.orderID == "ord_20261123_0001")
        #expect(data.providerStatus == "CHARGED")
        #expect(normalized.landingURL == "https://shop.example.com/checkout/ord_20261123_0001?result=success")
        #expect(normalized.dedupKey?.contains("ord_20261123_0001") == true)
        #expect(normalized.dedupKey?.contains("21") == true)
    }

    @Test("a return signed by the independent implementation is accepted, including awkward characters")
    func independentSignatureAccepted() throws {
        for params in [Self.charged, Self.awkward] {
            let signature = JuspaySample.sign(params, key: Support.juspayResponseKey)
            let query = JuspaySample.returnQuery(params, signature: signature)
            #expect(query.contains("%25"))
            let normalized = try Support.accepted(try Support.run(set, Support.request("GET", "/juspay/return", query: query)))
            #expect(normalized.event.data.verified)
            #expect(normalized.event.data.verification == .signatureParam)
            #expect(normalized.event.data.orderID == params[0].1)
        }
    }

    @Test("the landing URL percent-encodes the order id so it cannot change the destination")
    func landingEncodesOrderID() throws {
        let signature = JuspaySample.sign(Self.awkward, key: Support.juspayResponseKey)
        let query = JuspaySample.returnQuery(Self.awkward, signature: signature)
        let normalized = try Support.accepted(try Support.run(set, Support.request("GET", "/juspay/return", query: query)))
        #expect(normalized.landingURL == "https://shop.example.com/checkout/ORD%2077%2F%E2%82%AC%20a%2Bb~c?result=failure")

        let hostile: [(String, String)] = [("order_id", "//evil.example/x?y=1#"), ("status", "CHARGED"), ("status_id", "21")]
        let hostileQuery = JuspaySample.returnQuery(hostile, signature: JuspaySample.sign(hostile, key: Support.juspayResponseKey))
        let landing = try Support.accepted(try Support.run(set, Support.request("GET", "/juspay/return", query: hostileQuery))).landingURL
        #expect(landing == "https://shop.example.com/checkout/%2F%2Fevil.example%2Fx%3Fy%3D1%23?result=success")
    }

    @Test("the landing URL never carries the signature")
    func landingHasNoSignature() throws {
        let query = JuspaySample.returnQuery(Self.charged, signature: Self.chargedSignature)
        let normalized = try Support.accepted(try Support.run(set, Support.request("GET", "/juspay/return", query: query)))
        let landing = try #require(normalized.landingURL)
        #expect(!landing.contains("signature"))
        #expect(!landing.contains("6CIkvdun"))
    }

    @Test("a POSTed form return with a single-encoded signature is accepted")
    func postForm() throws {
        let form = (Self.charged.map { "\(JuspaySample.quotePlus($0.0))=\(JuspaySample.quotePlus($0.1))" }
            + ["signature=" + JuspaySample.quotePlus(Self.chargedSignature)]).joined(separator: "&")
        let raw = Support.request("POST", "/juspay/return", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form.bytes)
        let normalized = try Support.accepted(try Support.run(set, raw))
        #expect(normalized.event.data.verified)
        #expect(normalized.event.type == .paymentSucceeded)
    }

    @Test("a tampered status is rejected as a return with landing outcome unknown and no event")
    func tamperedStatus() throws {
        let query = "order_id=ord_20261123_0001&status=AUTHORIZED&status_id=21&signature=\(Self.chargedSignatureInQuery)&signature_algorithm=HMAC-SHA256"
        let decision = try Support.run(set, Support.request("GET", "/juspay/return", query: query))
        guard case .rejectReturn(let failure, let landing) = decision else {
            Issue.record("expected rejectReturn, got \(decision)")
            return
        }
        #expect(failure == .badSignature)
        #expect(landing == "https://shop.example.com/checkout/ord_20261123_0001?result=unknown")
    }

    @Test("a tampered order id, an extra parameter or a different key are all rejected")
    func otherTampering() throws {
        let base = JuspaySample.returnQuery(Self.charged, signature: Self.chargedSignature)
        let variants = [
            base.replacingOccurrences(of: "ord_20261123_0001", with: "ord_20261123_0002"),
            base + "&amount=1",
            JuspaySample.returnQuery(Self.charged, signature: JuspaySample.sign(Self.charged, key: "another-key")),
        ]
        for query in variants {
            let decision = try Support.run(set, Support.request("GET", "/juspay/return", query: query))
            guard case .rejectReturn(.badSignature, let landing) = decision else {
                Issue.record("expected rejectReturn(.badSignature) for \(query), got \(decision)")
                continue
            }
            #expect(landing.hasSuffix("?result=unknown"))
        }
    }

    @Test("a missing signature and an unsupported algorithm are rejected with their reasons")
    func missingSignatureAndAlgorithm() throws {
        let noSignature = try Support.run(set, Support.request("GET", "/juspay/return", query: "order_id=ord_1&status=CHARGED&status_id=21"))
        guard case .rejectReturn(.missingSignature, _) = noSignature else {
            Issue.record("expected missingSignature, got \(noSignature)")
            return
        }
        let md5 = JuspaySample.returnQuery(Self.charged, signature: Self.chargedSignature)
            .replacingOccurrences(of: "HMAC-SHA256", with: "HMAC-MD5")
        let decision = try Support.run(set, Support.request("GET", "/juspay/return", query: md5))
        guard case .rejectReturn(.unsupportedAlgorithm, _) = decision else {
            Issue.record("expected unsupportedAlgorithm, got \(decision)")
            return
        }
    }

    @Test("without the response key configured the return is rejected with secretNotConfigured")
    func missingKey() throws {
        var environment = Support.fullEnvironment
        environment["JUSPAY_RESPONSE_KEY"] = nil
        let set = try Support.handlers(environment)
        let route = try #require(set.route(provider: "juspay", name: "return"))
        #expect(route.unresolvedSecrets == ["${JUSPAY_RESPONSE_KEY}"])
        let query = JuspaySample.returnQuery(Self.charged, signature: Self.chargedSignature)
        let decision = try Support.run(set, Support.request("GET", "/juspay/return", query: query))
        guard case .rejectReturn(let failure, let landing) = decision else {
            Issue.record("expected rejectReturn, got \(decision)")
            return
        }
        #expect(failure == .secretNotConfigured)
        #expect(landing == "https://shop.example.com/checkout/ord_20261123_0001?result=unknown")
    }

    @Test("the landing base comes from CALLBRIDGE_LANDING_BASE when it is set")
    func landingBaseFromEnvironment() throws {
        var environment = Support.fullEnvironment
        environment["CALLBRIDGE_LANDING_BASE"] = "https://pay.merchant.test"
        let set = try Support.handlers(environment)
        let query = JuspaySample.returnQuery(Self.charged, signature: Self.chargedSignature)
        let normalized = try Support.accepted(try Support.run(set, Support.request("GET", "/juspay/return", query: query)))
        #expect(normalized.landingURL == "https://pay.merchant.test/checkout/ord_20261123_0001?result=success")
    }
}
