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
        StandardWebhooksSignature.decodeSecret(secret)
    }

    /// `v1,<base64>` for one key: what a sender puts in `webhook-signature`.
    public static func signature(key: [UInt8], id: String, timestamp: Int64, body: [UInt8]) -> String {
        StandardWebhooksSignature.sign(key: key, id: id, timestamp: timestamp, body: body)
    }

    public func verify(_ request: InboundRequest, now: Timestamp) -> VerificationResult {
        guard !keys.isEmpty else { return .failed(.secretNotConfigured) }
        guard let id = request.raw.header("webhook-id"), let tsText = request.raw.header("webhook-timestamp"),
              let header = request.raw.header("webhook-signature")
        else { return .failed(.missingSignature) }
        guard let ts = Int64(tsText.trimmingSpaces()) else { return .failed(.badSignature) }
        guard tolerance.admits(unixSeconds: ts, now: now) else { return .failed(.staleTimestamp) }
        let matched = StandardWebhooksSignature.verify(keys: keys, id: id, timestamp: ts, body: request.raw.body, header: header)
        return matched ? .passed : .failed(.badSignature)
    }
}
