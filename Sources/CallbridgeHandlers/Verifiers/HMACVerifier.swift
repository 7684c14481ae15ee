import CallbridgeCrypto
import CallbridgeModel

/// An HMAC signature over the raw body or over the sorted request parameters,
/// found in a header or a parameter, hex or base64, with an optional prefix
/// (`sha256=`) and an optional signed timestamp. Covers NonStoPay's
/// `X-Signature` and most "generic" providers.
///
/// Invariants: signatures are compared in constant time against every valid
/// secret (rotation); when `timestampHeader` is set, requests outside
/// `tolerance` are refused before any MAC is computed.
public struct HMACVerifier: Verifier {
    public enum Location: Sendable, Hashable {
        case header(String)
        case param(String)
    }

    public enum Payload: String, Sendable, Hashable {
        /// The raw request body, byte for byte.
        case body
        /// Parameters except the signature, sorted by key, joined `k=v&k=v` (values decoded).
        case params
    }

    public enum Encoding: String, Sendable, Hashable {
        case hex, base64
    }

    public var algorithm: DigestAlgorithm
    public var encoding: Encoding
    public var location: Location
    public var prefix: String
    /// Accept the signature with or without `prefix` (Luxfin documents both spellings).
    public var prefixOptional: Bool
    public var payload: Payload
    public var secrets: [String]
    /// When set, the signed message is `"{timestamp}.{payload}"` and the timestamp
    /// (Unix seconds) must be within `tolerance` of now.
    public var timestampHeader: String?
    public var tolerance: ConfigDuration
    public var method: VerificationMethod { .hmac }

    public init(
        algorithm: DigestAlgorithm, encoding: Encoding, location: Location, prefix: String = "", prefixOptional: Bool = false,
        payload: Payload = .body, secrets: [String], timestampHeader: String? = nil, tolerance: ConfigDuration = .seconds(300)
    ) {
        self.prefixOptional = prefixOptional
        self.algorithm = algorithm
        self.encoding = encoding
        self.location = location
        self.prefix = prefix
        self.payload = payload
        self.secrets = secrets
        self.timestampHeader = timestampHeader
        self.tolerance = tolerance
    }

    public func verify(_ request: InboundRequest, now: Timestamp) -> VerificationResult {
        guard !secrets.isEmpty else { return .failed(.secretNotConfigured) }
        let presented: String?
        switch location {
        case .header(let name): presented = request.raw.header(name)
        case .param(let name): presented = request.param(name)
        }
        guard var signature = presented?.trimmingSpaces(), !signature.isEmpty else { return .failed(.missingSignature) }
        if !prefix.isEmpty {
            if signature.lowercased().hasPrefix(prefix.lowercased()) {
                signature = String(signature.dropFirst(prefix.count))
            } else if !prefixOptional {
                return .failed(.badSignature)
            }
        }
        let decoded: [UInt8]?
        switch encoding {
        case .hex: decoded = ByteEncoding.fromHex(signature)
        case .base64: decoded = ByteEncoding.fromBase64(signature)
        }
        guard let presentedMAC = decoded, presentedMAC.count == algorithm.length else { return .failed(.badSignature) }

        var message: [UInt8] = []
        if let timestampHeader {
            guard let tsText = request.raw.header(timestampHeader), let ts = Int64(tsText.trimmingSpaces()) else {
                return .failed(.missingSignature)
            }
            guard tolerance.admits(unixSeconds: ts, now: now) else { return .failed(.staleTimestamp) }
            message += Array("\(ts).".utf8)
        }
        message += signedPayload(request)

        var matched = false
        for secret in secrets {
            let expected = HMAC.authenticate(algorithm, key: Array(secret.utf8), message: message)
            matched = ConstantTime.equals(expected, presentedMAC) || matched
        }
        return matched ? .passed : .failed(.badSignature)
    }

    func signedPayload(_ request: InboundRequest) -> [UInt8] {
        switch payload {
        case .body:
            return request.raw.body
        case .params:
            var excluded: String?
            if case .param(let name) = location { excluded = name }
            let pairs = request.params.filter { $0.0 != excluded }.sorted { $0.0 < $1.0 }
            return Array(pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&").utf8)
        }
    }
}
