import CallbridgeCrypto
import CallbridgeModel

/// Juspay's signed `return_url` redirect (Juspay docs, "Status Verification"):
/// every parameter except `signature` and `signature_algorithm` is
/// percent-encoded, sorted by encoded key, joined `k=v&…`; that string is
/// percent-encoded again, HMAC-SHA256'd with the merchant's response key and
/// base64'd.
///
/// Juspay sends the signature percent-encoded inside the query string
/// (`...%253D`), so after the usual query decoding the parameter still holds
/// the percent-encoded base64; a POSTed form may carry it single-encoded, and
/// a proxy may encode it once more. Every spelling of the same MAC is
/// accepted: it is percent-decoded up to twice, and a space (a `+` decoded by
/// a query parser) is read as `+`, which base64 never holds as a space.
///
/// How a space, `~` or `*` is encoded is not public (no vector has one), so
/// a signature computed under any of the three canonical forms a Juspay SDK
/// could use verifies: Python's `quote_plus`, Java's `URLEncoder` and RFC
/// 3986 (`Canonicalization`). They differ only for those three characters.
public struct JuspayReturnVerifier: Verifier {
    public var responseKeys: [String]
    public var method: VerificationMethod { .signatureParam }

    /// How parameters and the joined string are percent-encoded before signing.
    public enum Canonicalization: String, Sendable, CaseIterable {
        /// Letters, digits and `-._~` stay; space is `+` (Python `quote_plus`).
        case form
        /// Letters, digits and `.-*_` stay; space is `+`, `~` is `%7E` (Java `URLEncoder`).
        case javaForm
        /// Letters, digits and `-._~` stay; space is `%20`.
        case rfc3986

        func encode(_ text: String) -> String {
            switch self {
            case .form: return FormURLEncoding.encodeFormComponent(text)
            case .javaForm: return FormURLEncoding.encodeJavaFormComponent(text)
            case .rfc3986: return FormURLEncoding.encodeComponent(text)
            }
        }
    }

    public init(responseKeys: [String]) {
        self.responseKeys = responseKeys
    }

    /// The base64 signature Juspay computes for `params` with `key`.
    public static func signature(params: [(String, String)], key: String, canonicalization: Canonicalization = .form) -> String {
        let encoded = params
            .filter { $0.0 != "signature" && $0.0 != "signature_algorithm" }
            .map { (canonicalization.encode($0.0), canonicalization.encode($0.1)) }
            .sorted { $0.0 < $1.0 }
        let joined = encoded.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let message = canonicalization.encode(joined)
        return ByteEncoding.base64(HMAC.authenticate(.sha256, key: Array(key.utf8), message: Array(message.utf8)))
    }

    public func verify(_ request: InboundRequest, now: Timestamp) -> VerificationResult {
        guard !responseKeys.isEmpty else { return .failed(.secretNotConfigured) }
        guard let presented = request.param("signature"), !presented.isEmpty else { return .failed(.missingSignature) }
        if let algorithm = request.param("signature_algorithm"), !algorithm.isEmpty,
           algorithm.uppercased() != "HMAC-SHA256" {
            return .failed(.unsupportedAlgorithm)
        }
        let spellings = JuspayReturnVerifier.decodedSpellings(of: presented)
        var expected: [String] = []
        for key in responseKeys {
            for canonicalization in Canonicalization.allCases {
                let signature = JuspayReturnVerifier.signature(params: request.params, key: key, canonicalization: canonicalization)
                if !expected.contains(signature) { expected.append(signature) }
            }
        }
        var matched = false
        for candidate in expected {
            for spelling in spellings { matched = ConstantTime.equals(spelling, candidate) || matched }
        }
        return matched ? .passed : .failed(.badSignature)
    }

    /// The presented value decoded zero, one and two times (base64 holds no `%`),
    /// with spaces read as `+`.
    static func decodedSpellings(of presented: String) -> [String] {
        var spellings = [presented.replacingAll(" ", with: "+")]
        var current = presented
        for _ in 0..<2 where current.contains("%") {
            guard let decoded = FormURLEncoding.decode(current, plusAsSpace: false) else { break }
            current = decoded
            spellings.append(decoded.replacingAll(" ", with: "+"))
        }
        return spellings
    }
}
