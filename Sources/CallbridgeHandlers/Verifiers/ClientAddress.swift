import CallbridgeModel

/// The address a request really came from when Callbridge sits behind
/// reverse proxies (`listen.trusted_proxies`): `X-Forwarded-For` is read
/// only when the TCP peer is a trusted proxy, and then from the right,
/// skipping trusted hops, to the first address no trusted proxy vouches for.
/// Anyone else's `X-Forwarded-For` is ignored, so a client cannot claim an
/// allow-listed address.
///
/// Invariant: the result is the peer itself, or an address that a chain of
/// trusted proxies starting at the peer reported.
public struct ClientAddress: Sendable {
    public var trustedProxies: [IPAllowlistVerifier.Network]

    public init(trustedProxies: [IPAllowlistVerifier.Network]) {
        self.trustedProxies = trustedProxies
    }

    /// - Parameter forwardedFor: every `X-Forwarded-For` value, in header order;
    ///   read only when the peer is a trusted proxy (most requests never pay for it).
    public func resolve(peer: String?, forwardedFor: @autoclosure () -> [String]) -> String? {
        guard let peer, !trustedProxies.isEmpty, isTrusted(peer) else { return peer }
        let hops = forwardedFor().flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces() }
        var nearest = peer
        for hop in hops.reversed() {
            // A malformed entry ends the chain: nothing beyond it is vouched for.
            guard IPAllowlistVerifier.parseAddress(hop) != nil else { return nearest }
            nearest = hop
            if !isTrusted(hop) { return hop }
        }
        return nearest
    }

    func isTrusted(_ address: String) -> Bool {
        guard let bytes = IPAllowlistVerifier.parseAddress(address) else { return false }
        return trustedProxies.contains { $0.contains(bytes) }
    }
}
