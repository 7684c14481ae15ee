import CallbridgeCrypto
import CallbridgeModel

/// Signs deliveries the Standard Webhooks way (docs/ARCHITECTURE.md):
/// `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
/// keyed with the base64-decoded part of each `whsec_…` secret, one
/// space-separated signature per secret during rotation.
///
/// Invariant: every configured secret decodes (checked at construction), so
/// signing never fails at delivery time.
public struct WebhookSigner: Sendable, Hashable {
    public let keys: [[UInt8]]

    /// Nil when a secret is not `whsec_` + base64.
    public init?(secrets: [String]) {
        var keys: [[UInt8]] = []
        for secret in secrets {
            guard secret.hasPrefix("whsec_"), let key = StandardWebhooksSignature.decodeSecret(secret) else { return nil }
            keys.append(key)
        }
        guard !keys.isEmpty else { return nil }
        self.keys = keys
    }

    /// The `webhook-signature` value for one message.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        keys.map { StandardWebhooksSignature.sign(key: $0, id: id, timestamp: timestamp, body: body) }.joined(separator: " ")
    }

    /// The three Standard Webhooks headers for one attempt.
    public func headers(id: EventID, timestamp: Int64, body: [UInt8]) -> [(String, String)] {
        [
            ("webhook-id", id.rawValue),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", signature(id: id.rawValue, timestamp: timestamp, body: body)),
        ]
    }

    /// Checks a received `webhook-signature` header the way a receiving
    /// service should: any listed `v1` signature matching any key passes, and
    /// the timestamp must be within `tolerance` of `now`.
    public func verify(id: String, timestamp: Int64, body: [UInt8], header: String, now: Timestamp, tolerance: ConfigDuration = .seconds(300)) -> Bool {
        guard tolerance.admits(unixSeconds: timestamp, now: now) else { return false }
        return StandardWebhooksSignature.verify(keys: keys, id: id, timestamp: timestamp, body: body, header: header)
    }

    /// A new random `whsec_` secret (24 bytes, like Svix's).
    public static func newSecret() -> String {
        "whsec_" + ByteEncoding.base64(SecureRandom.bytes(24))
    }
}
