import CallbridgeModel

/// Proves (or refuses) the authenticity of one inbound request. Verifiers are
/// Swift code chosen by name from a handler file (`verify: [{type: hmac, …}]`)
/// and configured from it; they never do I/O and compare secrets in constant time.
public protocol Verifier: Sendable {
    /// What `data.verification` says when this verifier passed.
    var method: VerificationMethod { get }
    func verify(_ request: InboundRequest, now: Timestamp) -> VerificationResult
}

/// The verdict of a verifier.
public enum VerificationResult: Sendable, Hashable {
    case passed
    case failed(VerificationFailure)
}

/// Why verification failed: a short reason for metrics and logs, which never
/// contains secret material.
public enum VerificationFailure: String, Sendable, Hashable, CaseIterable, Error {
    case missingCredentials = "missing_credentials"
    case badCredentials = "bad_credentials"
    case missingSignature = "missing_signature"
    case badSignature = "bad_signature"
    case unsupportedAlgorithm = "unsupported_algorithm"
    case staleTimestamp = "stale_timestamp"
    case addressNotAllowed = "address_not_allowed"
    /// The route's secret reference did not resolve (environment variable unset):
    /// a deployment problem, answered 503, not the caller's fault.
    case secretNotConfigured = "secret_not_configured"

    public var detail: String {
        switch self {
        case .missingCredentials: return "credentials are missing"
        case .badCredentials: return "credentials are not valid"
        case .missingSignature: return "the signature is missing"
        case .badSignature: return "the signature does not match"
        case .unsupportedAlgorithm: return "the signature algorithm is not supported"
        case .staleTimestamp: return "the signature timestamp is outside the allowed window"
        case .addressNotAllowed: return "the client address is not allowed"
        case .secretNotConfigured: return "the route's verification secret is not configured on this server"
        }
    }
}

/// Accepts everything and marks the event unverified (`verification: none`).
/// Used for browser returns of providers that do not sign them (Luxfin).
public struct NoVerification: Verifier {
    public var method: VerificationMethod { .none }
    public init() {}
    public func verify(_ request: InboundRequest, now: Timestamp) -> VerificationResult { .passed }
}
