import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

/// Juspay's published return-signature vector, and the encodings it does not
/// settle: a signature computed under form (quote_plus or Java URLEncoder) or
/// RFC 3986 encoding verifies, however many times the value was percent-encoded.
@Suite("Juspay return encodings")
struct JuspayReturnEncodingTests {
    /// The published test vector (a public Java `SignatureVerification` sample; Fixtures/juspay/SOURCES.md).
    static let publishedParams: [(String, String)] = [
        ("order_id", "order_1727694028"), ("status", "AUTHORIZATION_FAILED"), ("status_id", "27"), ("myQP", "aGVsbG9Xb3JsZA=="),
    ]
    static let publishedKey = "92206A0A4A75499C9B11206C2B3B9A53"
    static let publishedSignature = "8Esx2nrz3KE059rdsTkffYKu6AXXk07KzBo3KOexl3I="

    /// Encodes bytes outside `safe`, space as `spaceAs`; an implementation independent of the module's.
    static func encode(_ text: String, safe: String, spaceAs: String) -> String {
        let keep = Set(safe.utf8)
        return text.utf8.map { byte in
            if keep.contains(byte) { return String(UnicodeScalar(byte)) }
            if byte == 0x20 { return spaceAs }
            return String(format: "%%%02X", byte)
        }.joined()
    }

    static let alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    static func javaURLEncoder(_ text: String) -> String { encode(text, safe: alnum + ".-*_", spaceAs: "+") }
    static func rfc3986(_ text: String) -> String { encode(text, safe: alnum + "-._~", spaceAs: "%20") }

    static func sign(_ params: [(String, String)], key: String, with encoding: (String) -> String) -> String {
        let joined = params.map { (encoding($0.0), encoding($0.1)) }.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        return ByteEncoding.base64(HMAC.authenticate(.sha256, key: Array(key.utf8), message: Array(encoding(joined).utf8)))
    }

    static func handlers(key: String) throws -> HandlerSet {
        var environment = Support.fullEnvironment
        environment["JUSPAY_RESPONSE_KEY"] = key
        return try Support.handlers(environment)
    }

    /// A return query: parameters form-encoded, the signature percent-encoded `times` times (0: raw).
    static func query(_ params: [(String, String)], signature: String, times: Int) -> String {
        var encodedSignature = signature
        for _ in 0..<times { encodedSignature = rfc3986(encodedSignature) }
        return (params.map { "\(javaURLEncoder($0.0))=\(javaURLEncoder($0.1))" } + ["signature=" + encodedSignature, "signature_algorithm=HMAC-SHA256"])
            .joined(separator: "&")
    }

    @Test("the published vector: the module computes it, and a return carrying it verifies")
    func publishedVector() throws {
        #expect(JuspayReturnVerifier.signature(params: Self.publishedParams, key: Self.publishedKey) == Self.publishedSignature)
        #expect(Self.sign(Self.publishedParams, key: Self.publishedKey, with: Self.rfc3986) == Self.publishedSignature)
        let set = try Self.handlers(key: Self.publishedKey)
        let raw = Support.request("GET", "/juspay/return", query: Self.query(Self.publishedParams, signature: Self.publishedSignature, times: 2))
        let normalized = try Support.accepted(try Support.run(set, raw))
        #expect(normalized.event.data.verified)
        #expect(normalized.event.type == .paymentFailed)
        #expect(normalized.event.data.orderID == "order_1727694028")
    }

    static let awkward: [(String, String)] = [
        ("order_id", "ord 42~x*y"), ("status", "CHARGED"), ("status_id", "21"), ("note", "a b~c*d/é"),
    ]

    @Test("the three canonical forms really differ for a space, ~ and *")
    func formsDiffer() {
        let key = Support.juspayResponseKey
        let java = Self.sign(Self.awkward, key: key, with: Self.javaURLEncoder)
        let rfc = Self.sign(Self.awkward, key: key, with: Self.rfc3986)
        let python = JuspaySample.sign(Self.awkward, key: key)
        #expect(Set([java, rfc, python]).count == 3)
    }

    @Test("a signature under Java URLEncoder, RFC 3986 or quote_plus encoding verifies, sent raw, once or twice encoded",
          arguments: ["java", "rfc3986", "python"], [0, 1, 2])
    func everyEncodingAndSpelling(form: String, times: Int) throws {
        let key = Support.juspayResponseKey
        let signature: String
        switch form {
        case "java": signature = Self.sign(Self.awkward, key: key, with: Self.javaURLEncoder)
        case "rfc3986": signature = Self.sign(Self.awkward, key: key, with: Self.rfc3986)
        default: signature = JuspaySample.sign(Self.awkward, key: key)
        }
        let set = try Support.handlers()
        let raw = Support.request("GET", "/juspay/return", query: Self.query(Self.awkward, signature: signature, times: times))
        let normalized = try Support.accepted(try Support.run(set, raw))
        #expect(normalized.event.data.verified)
        #expect(normalized.event.data.orderID == "ord 42~x*y")
    }

    @Test("a signature for other parameters fails under every form")
    func tamperedFails() throws {
        let set = try Support.handlers()
        let signature = Self.sign(Self.awkward, key: Support.juspayResponseKey, with: Self.rfc3986)
        var tampered = Self.awkward
        tampered[1] = ("status", "AUTHORIZED")
        guard case .rejectReturn(let failure, let landing) = try Support.run(set, Support.request("GET", "/juspay/return",
                                                                                                  query: Self.query(tampered, signature: signature, times: 1))) else {
            Issue.record("a tampered return must be rejected")
            return
        }
        #expect(failure == .badSignature)
        #expect(landing.hasSuffix("result=unknown"))
    }
}
