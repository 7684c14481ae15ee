import CallbridgeCrypto
import CallbridgeModel

/// HTTP Basic authentication (RFC 7617), as Juspay sends it on webhooks.
/// Several credential pairs may be valid at once during rotation.
///
/// Invariant: user name and password are compared in constant time, both
/// always, so timing does not reveal which one was wrong.
public struct BasicAuthVerifier: Verifier {
    public struct Credential: Sendable, Hashable {
        public var username: String
        public var password: String
        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public var credentials: [Credential]
    public var method: VerificationMethod { .basicAuth }

    public init(credentials: [Credential]) {
        self.credentials = credentials
    }

    public func verify(_ request: InboundRequest, now: Timestamp) -> VerificationResult {
        guard !credentials.isEmpty else { return .failed(.secretNotConfigured) }
        guard let header = request.raw.header("authorization") else { return .failed(.missingCredentials) }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = ByteEncoding.fromBase64(String(parts[1]).trimmingSpaces()),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
        else { return .failed(.badCredentials) }
        let user = decoded[..<colon]
        let password = decoded[(colon + 1)...]
        var matched = false
        for credential in credentials {
            let userOK = ConstantTime.equals(user, Array(credential.username.utf8))
            let passwordOK = ConstantTime.equals(password, Array(credential.password.utf8))
            matched = matched || (userOK && passwordOK)
        }
        return matched ? .passed : .failed(.badCredentials)
    }
}

/// A static API key in a request header (optionally after a prefix such as
/// `Bearer `). Several keys may be valid at once during rotation.
public struct APIKeyVerifier: Verifier {
    public var header: String
    public var prefix: String
    public var keys: [String]
    public var method: VerificationMethod { .apiKey }

    public init(header: String, prefix: String = "", keys: [String]) {
        self.header = header
        self.prefix = prefix
        self.keys = keys
    }

    public func verify(_ request: InboundRequest, now: Timestamp) -> VerificationResult {
        guard !keys.isEmpty else { return .failed(.secretNotConfigured) }
        guard var value = request.raw.header(header), !value.isEmpty else { return .failed(.missingCredentials) }
        if !prefix.isEmpty {
            guard value.lowercased().hasPrefix(prefix.lowercased()) else { return .failed(.badCredentials) }
            value = String(value.dropFirst(prefix.count))
        }
        var matched = false
        for key in keys { matched = ConstantTime.equals(value, key) || matched }
        return matched ? .passed : .failed(.badCredentials)
    }
}
