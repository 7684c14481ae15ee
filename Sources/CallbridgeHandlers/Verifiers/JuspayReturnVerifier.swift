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
/// the percent-encoded base64; a POSTed form may carry it single-encoded. Both
/// spellings of the same MAC are accepted.
public struct JuspayReturnVerifier: Verifier {
    public var responseKeys: [String]
    public var method: VerificationMethod { .signatureParam }

    public init(responseKeys: [String]) {
        self.responseKeys = responseKeys
    }

    /// The base64 signature Juspay computes for `params` with `key`.
    public static func signature(params: [(String, String)], key: String) -> String {
        let encoded = params
            .filter { $0.0 != "signature" && $0.0 != "signature_algorithm" }
            .map { (FormURLEncoding.encodeFormComponent($0.0), FormURLEncoding.encodeFormComponent($0.1)) }
            .sorted { $0.0 < $1.0 }
        let joined = encoded.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let message = FormURLEncoding.encodeFormComponent(joined)
        return ByteEncoding.base64(HMAC.authenticate(.sha256, key: Array(key.utf8), message: Array(message.utf8)))
    }

    public func verify(_ request: InboundRequest, now: Timestamp) -> VerificationResult {
        guard !responseKeys.isEmpty else { return .failed(.secretNotConfigured) }
        guard let presented = request.param("signature"), !presented.isEmpty else { return .failed(.missingSignature) }
        if let algorithm = request.param("signature_algorithm"), !algorithm.isEmpty,
           algorithm.uppercased() != "HMAC-SHA256" {
            return .failed(.unsupportedAlgorithm)
        }
        // Percent-decode once, as Juspay documents; a single-encoded value decodes to itself
        // unless it held `%`, which base64 never does.
        let once = FormURLEncoding.decode(presented, plusAsSpace: false) ?? presented
        var matched = false
        for key in responseKeys {
            let expected = JuspayReturnVerifier.signature(params: request.params, key: key)
            matched = ConstantTime.equals(once, expected) || matched
        }
        return matched ? .passed : .failed(.badSignature)
    }
}
