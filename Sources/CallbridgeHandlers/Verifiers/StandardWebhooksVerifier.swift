import CallbridgeCrypto
import CallbridgeModel

/// Inbound Standard Webhooks (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature: v1,<base64>`), the same scheme Callbridge signs its own
/// deliveries with. Secrets are `whsec_<base64>`; several may be valid.
///
/// Invariants: timestamps outside `tolerance` are refused; any one matching
/// `v1` signature among the space-separated list passes.
public struct StandardWebhooksVerifier: Verifier {
    /// Decoded secret keys (the bytes after `whsec_`).
    public var keys: [[UInt8]]
    public var tolerance: ConfigDuration
    public var method: VerificationMethod { .hmac }

    public init(keys: [[UInt8]], tolerance: ConfigDuration = .seconds(300)) {
        self.keys = keys
        self.tolerance = tolerance
    }

    /// Decodes `whsec_<base64>` (or bare base64); nil if malformed.
    public static func decodeSecret(_ secret: String) -> [UInt8]? {
        let body = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let key = ByteEncoding.fromBase64(body), !key.isEmpty else { return nil }
        return key
    }

    /// `v1,<base64>` for one key: what a sender puts in `webhook-signature`.
    public static func signature(key: [UInt8], id: String, timestamp: Int64, body: [UInt8]) -> String {
        let message = Array("\(id).\(timestamp).".utf8) + body
        return "v1," + ByteEncoding.base64(HMAC.authenticate(.sha256, key: key, message: message))
    }

    public func verify(_ request: InboundRequest, now: Timestamp) -> VerificationResult {
        guard !keys.isEmpty else { return .failed(.secretNotConfigured) }
        guard let id = request.raw.header("webhook-id"), let tsText = request.raw.header("webhook-timestamp"),
              let header = request.raw.header("webhook-signature")
        else { return .failed(.missingSignature) }
        guard let ts = Int64(tsText.trimmingSpaces()) else { return .failed(.badSignature) }
        guard tolerance.admits(unixSeconds: ts, now: now) else { return .failed(.staleTimestamp) }
        let presented = header.split(separator: " ").compactMap { part -> [UInt8]? in
            guard part.hasPrefix("v1,") else { return nil }
            return ByteEncoding.fromBase64(String(part.dropFirst(3)))
        }
        guard !presented.isEmpty else { return .failed(.badSignature) }
        let message = Array("\(id).\(ts).".utf8) + request.raw.body
        var matched = false
        for key in keys {
            let expected = HMAC.authenticate(.sha256, key: key, message: message)
            for signature in presented { matched = ConstantTime.equals(expected, signature) || matched }
        }
        return matched ? .passed : .failed(.badSignature)
    }
}
