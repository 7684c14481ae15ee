/// The Standard Webhooks signature scheme, shared by the inbound verifier
/// (providers that sign this way) and the outbound signer (every delivery):
/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the
/// base64-decoded part of a `whsec_…` secret; a header may list several
/// space-separated signatures (secret rotation).
///
/// Invariant: verification compares every presented signature with every key
/// in constant time and never stops early on a match.
public enum StandardWebhooksSignature {
    /// The key bytes of `whsec_<base64>` (or bare base64); nil if malformed or empty.
    public static func decodeSecret(_ secret: String) -> [UInt8]? {
        let body = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let key = ByteEncoding.fromBase64(body), !key.isEmpty else { return nil }
        return key
    }

    static func mac(key: [UInt8], id: String, timestamp: Int64, body: [UInt8]) -> [UInt8] {
        HMAC.authenticate(.sha256, key: key, message: Array("\(id).\(timestamp).".utf8) + body)
    }

    /// `v1,<base64>` for one key.
    public static func sign(key: [UInt8], id: String, timestamp: Int64, body: [UInt8]) -> String {
        "v1," + ByteEncoding.base64(mac(key: key, id: id, timestamp: timestamp, body: body))
    }

    /// True when any `v1,` entry of `header` matches any key.
    public static func verify(keys: [[UInt8]], id: String, timestamp: Int64, body: [UInt8], header: String) -> Bool {
        let presented = header.split(separator: " ").compactMap { part -> [UInt8]? in
            guard part.hasPrefix("v1,") else { return nil }
            return ByteEncoding.fromBase64(String(part.dropFirst(3)))
        }
        var matched = false
        for key in keys {
            let expected = mac(key: key, id: id, timestamp: timestamp, body: body)
            for candidate in presented { matched = ConstantTime.equals(expected, candidate) || matched }
        }
        return matched
    }
}
