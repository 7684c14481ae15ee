import CallbridgeHandlers
import Testing

/// `listen.trusted_proxies`: X-Forwarded-For is believed only from a listed peer.
@Suite struct ClientAddressTests {
    let proxies = ClientAddress(trustedProxies: ["10.0.0.0/8", "2001:db8::/32"].compactMap(IPAllowlistVerifier.Network.init))

    @Test("without trusted proxies the peer is the client, whatever the header says")
    func noProxies() {
        #expect(ClientAddress(trustedProxies: []).resolve(peer: "127.0.0.1", forwardedFor: ["35.172.189.167"]) == "127.0.0.1")
    }

    @Test("a peer that is not a trusted proxy cannot claim another address")
    func untrustedPeer() {
        #expect(proxies.resolve(peer: "198.51.100.9", forwardedFor: ["35.172.189.167"]) == "198.51.100.9")
    }

    @Test("from a trusted proxy the rightmost untrusted hop is the client")
    func trustedChain() {
        #expect(proxies.resolve(peer: "10.1.2.3", forwardedFor: ["35.172.189.167"]) == "35.172.189.167")
        // A client-supplied address on the left is not believed: the proxy appended the real one.
        #expect(proxies.resolve(peer: "10.1.2.3", forwardedFor: ["35.172.189.167, 203.0.113.50"]) == "203.0.113.50")
        #expect(proxies.resolve(peer: "10.1.2.3", forwardedFor: ["203.0.113.50", "10.9.9.9"]) == "203.0.113.50")
        #expect(proxies.resolve(peer: "2001:db8::1", forwardedFor: ["2001:db8::2, 198.51.100.1"]) == "198.51.100.1")
    }

    @Test("a malformed hop ends the chain at the last trusted address")
    func malformedHop() {
        #expect(proxies.resolve(peer: "10.1.2.3", forwardedFor: ["35.172.189.167, not-an-ip"]) == "10.1.2.3")
        #expect(proxies.resolve(peer: "10.1.2.3", forwardedFor: ["35.172.189.167, 10.4.4.4, junk"]) == "10.1.2.3")
        #expect(proxies.resolve(peer: "10.1.2.3", forwardedFor: []) == "10.1.2.3")
    }

    @Test("only trusted hops: the leftmost is the best there is")
    func allTrusted() {
        #expect(proxies.resolve(peer: "10.1.2.3", forwardedFor: ["10.7.7.7, 10.8.8.8"]) == "10.7.7.7")
    }
}
