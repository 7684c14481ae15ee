import CallbridgeModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Accepts requests only from configured networks (IPv4 and IPv6 CIDR blocks).
/// The address is the TCP peer's, or the client that `listen.trusted_proxies`
/// forwarded for (see `ClientAddress`); forwarded-for headers from other peers are ignored.
public struct IPAllowlistVerifier: Verifier {
    /// One network: address bytes (4 or 16) and prefix length.
    public struct Network: Sendable, Hashable, CustomStringConvertible {
        public var address: [UInt8]
        public var prefixLength: Int

        /// Parses `203.0.113.0/24`, `2001:db8::/32` or a single address.
        public init?(_ text: String) {
            let parts = text.trimmingSpaces().split(separator: "/", maxSplits: 1)
            guard let first = parts.first, let address = IPAllowlistVerifier.parseAddress(String(first)) else { return nil }
            let maxPrefix = address.count * 8
            var prefix = maxPrefix
            if parts.count == 2 {
                guard let p = Int(parts[1]), (0...maxPrefix).contains(p) else { return nil }
                prefix = p
            }
            self.address = address
            self.prefixLength = prefix
        }

        public func contains(_ candidate: [UInt8]) -> Bool {
            var candidate = candidate
            // An IPv4-mapped IPv6 peer (::ffff:a.b.c.d) matches IPv4 networks.
            if address.count == 4, candidate.count == 16, candidate[0..<10].allSatisfy({ $0 == 0 }),
               candidate[10] == 0xFF, candidate[11] == 0xFF {
                candidate = Array(candidate[12...])
            }
            guard candidate.count == address.count else { return false }
            var remaining = prefixLength
            for i in 0..<address.count where remaining > 0 {
                let bits = min(8, remaining)
                let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
                if candidate[i] & mask != address[i] & mask { return false }
                remaining -= bits
            }
            return true
        }

        public var description: String { "\(address.map(String.init).joined(separator: "."))/\(prefixLength)" }
    }

    public var networks: [Network]
    public var method: VerificationMethod { .ipAllowlist }

    public init(networks: [Network]) {
        self.networks = networks
    }

    public func verify(_ request: InboundRequest, now: Timestamp) -> VerificationResult {
        guard let remote = request.raw.remoteAddress, let address = IPAllowlistVerifier.parseAddress(remote) else {
            return .failed(.addressNotAllowed)
        }
        return networks.contains(where: { $0.contains(address) }) ? .passed : .failed(.addressNotAllowed)
    }

    /// Parses a textual IPv4 or IPv6 address (a zone suffix `%eth0` is dropped).
    public static func parseAddress(_ text: String) -> [UInt8]? {
        let host = text.split(separator: "%").first.map(String.init) ?? text
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
