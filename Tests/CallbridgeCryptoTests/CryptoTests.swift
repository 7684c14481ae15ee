import CallbridgeCrypto
import Testing

private func hex(_ s: String) -> [UInt8] { ByteEncoding.fromHex(s)! }
private func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

/// One HMAC test vector: key, message and expected MAC in hex.
struct HMACVector: Sendable, CustomTestStringConvertible {
    var name: String
    var key: [UInt8]
    var message: [UInt8]
    var expected: String
    var testDescription: String { name }
}

@Suite("HMAC")
struct HMACTests {
    // RFC 4231, test cases 1–4, 6, 7 (case 5 is a truncated MAC).
    static let rfc4231Inputs: [(String, [UInt8], [UInt8])] = [
        ("case 1", [UInt8](repeating: 0x0b, count: 20), utf8("Hi There")),
        ("case 2", utf8("Jefe"), utf8("what do ya want for nothing?")),
        ("case 3", [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50)),
        ("case 4", hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), [UInt8](repeating: 0xcd, count: 50)),
        ("case 6", [UInt8](repeating: 0xaa, count: 131), utf8("Test Using Larger Than Block-Size Key - Hash Key First")),
        ("case 7", [UInt8](repeating: 0xaa, count: 131),
         utf8("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.")),
    ]

    static let sha256Vectors: [HMACVector] = zip(rfc4231Inputs, [
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ]).map { HMACVector(name: "RFC 4231 \($0.0) SHA-256", key: $0.1, message: $0.2, expected: $1) }

    static let sha512Vectors: [HMACVector] = zip(rfc4231Inputs, [
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
        "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
        "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
        "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
    ]).map { HMACVector(name: "RFC 4231 \($0.0) SHA-512", key: $0.1, message: $0.2, expected: $1) }

    // RFC 2202, HMAC-SHA1 test cases 1–7.
    static let sha1Vectors: [HMACVector] = [
        HMACVector(name: "RFC 2202 case 1", key: [UInt8](repeating: 0x0b, count: 20), message: utf8("Hi There"),
                   expected: "b617318655057264e28bc0b6fb378c8ef146be00"),
        HMACVector(name: "RFC 2202 case 2", key: utf8("Jefe"), message: utf8("what do ya want for nothing?"),
                   expected: "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
        HMACVector(name: "RFC 2202 case 3", key: [UInt8](repeating: 0xaa, count: 20), message: [UInt8](repeating: 0xdd, count: 50),
                   expected: "125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
        HMACVector(name: "RFC 2202 case 4", key: hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                   message: [UInt8](repeating: 0xcd, count: 50), expected: "4c9007f4026250c6bc8414f9bf50c86c2d7235da"),
        HMACVector(name: "RFC 2202 case 5", key: [UInt8](repeating: 0x0c, count: 20), message: utf8("Test With Truncation"),
                   expected: "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"),
        HMACVector(name: "RFC 2202 case 6", key: [UInt8](repeating: 0xaa, count: 80),
                   message: utf8("Test Using Larger Than Block-Size Key - Hash Key First"),
                   expected: "aa4ae5e15272d00e95705637ce8a3b55ed402112"),
        HMACVector(name: "RFC 2202 case 7", key: [UInt8](repeating: 0xaa, count: 80),
                   message: utf8("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
                   expected: "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"),
    ]

    @Test("HMAC-SHA256 matches the RFC 4231 vectors", arguments: sha256Vectors)
    func sha256(vector: HMACVector) {
        #expect(ByteEncoding.hex(HMAC.authenticate(.sha256, key: vector.key, message: vector.message)) == vector.expected)
    }

    @Test("HMAC-SHA512 matches the RFC 4231 vectors", arguments: sha512Vectors)
    func sha512(vector: HMACVector) {
        #expect(ByteEncoding.hex(HMAC.authenticate(.sha512, key: vector.key, message: vector.message)) == vector.expected)
    }

    @Test("HMAC-SHA1 matches the RFC 2202 vectors", arguments: sha1Vectors)
    func sha1(vector: HMACVector) {
        #expect(ByteEncoding.hex(HMAC.authenticate(.sha1, key: vector.key, message: vector.message)) == vector.expected)
    }

    @Test("RFC 4231 case 5: the first 128 bits of the truncated MAC match")
    func truncated() {
        let mac = HMAC.authenticate(.sha256, key: [UInt8](repeating: 0x0c, count: 20), message: utf8("Test With Truncation"))
        #expect(ByteEncoding.hex(mac.prefix(16)) == "a3b6167473100ee06e0c796c2955552b")
    }

    @Test("an empty key and an empty message give the known MAC and the declared length")
    func emptyInputs() {
        let mac = HMAC.authenticate(.sha256, key: [UInt8](), message: [UInt8]())
        #expect(ByteEncoding.hex(mac) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
        for algorithm in DigestAlgorithm.allCases {
            #expect(HMAC.authenticate(algorithm, key: utf8("k"), message: utf8("m")).count == algorithm.length)
        }
    }

    @Test("SHA-256 and SHA-1 digests of 'abc' match FIPS 180 examples")
    func digests() {
        #expect(ByteEncoding.hex(Digest.hash(.sha256, utf8("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ByteEncoding.hex(Digest.hash(.sha1, utf8("abc"))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }
}

@Suite("ByteEncoding")
struct ByteEncodingTests {
    @Test("base64 encodes the RFC 4648 examples", arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func base64Examples(plain: String, encoded: String) {
        #expect(ByteEncoding.base64(utf8(plain)) == encoded)
        #expect(ByteEncoding.fromBase64(encoded) == utf8(plain))
    }

    @Test("base64 and hex round-trip every byte value and every length up to 64")
    func roundTrips() {
        let all = (0...255).map { UInt8($0) }
        #expect(ByteEncoding.fromBase64(ByteEncoding.base64(all)) == all)
        #expect(ByteEncoding.fromHex(ByteEncoding.hex(all)) == all)
        for n in 0...64 {
            let bytes = Array(all.reversed().prefix(n))
            #expect(ByteEncoding.fromBase64(ByteEncoding.base64(bytes)) == bytes)
            #expect(ByteEncoding.fromHex(ByteEncoding.hex(bytes)) == bytes)
        }
    }

    @Test("base64 decoding accepts the URL-safe alphabet and missing padding")
    func base64Variants() {
        #expect(ByteEncoding.fromBase64("-_8") == [0xfb, 0xff])
        #expect(ByteEncoding.fromBase64("+/8=") == [0xfb, 0xff])
        #expect(ByteEncoding.fromBase64("Zm8") == utf8("fo"))
    }

    @Test("base64 decoding rejects foreign characters, data after padding and impossible lengths", arguments: [
        "Zm9v!", "Zm 9v", "Zm=9v", "Z", "Zm9vY", "Zg===", "Zm9v\n", "é",
    ])
    func base64Rejects(text: String) {
        #expect(ByteEncoding.fromBase64(text) == nil)
    }

    @Test("hex encodes lowercase and decodes either case")
    func hexCases() {
        #expect(ByteEncoding.hex([0xde, 0xad, 0xbe, 0xef, 0x00, 0x0f]) == "deadbeef000f")
        #expect(ByteEncoding.fromHex("DEADbeef") == [0xde, 0xad, 0xbe, 0xef])
        #expect(ByteEncoding.fromHex("") == [])
    }

    @Test("hex decoding rejects odd lengths and non-hex characters", arguments: ["abc", "zz", "0x00", "12 34", "g0", "é0"])
    func hexRejects(text: String) {
        #expect(ByteEncoding.fromHex(text) == nil)
    }
}

@Suite("ConstantTime")
struct ConstantTimeTests {
    @Test("equal byte strings compare equal")
    func equal() {
        #expect(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals("sha256=abc", "sha256=abc"))
        #expect(ConstantTime.equals(ArraySlice<UInt8>([9, 1, 2]).dropFirst(), [1, 2] as [UInt8]))
    }

    @Test("strings that differ anywhere, or in length, compare unequal")
    func unequal() {
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!ConstantTime.equals([0, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        #expect(!ConstantTime.equals([UInt8](), [0] as [UInt8]))
        #expect(!ConstantTime.equals("secret", "Secret"))
        #expect(!ConstantTime.equals("secret", "secret "))
    }

    @Test("secure random bytes have the requested length and are not constant")
    func random() {
        #expect(SecureRandom.bytes(0).isEmpty)
        let a = SecureRandom.bytes(32), b = SecureRandom.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
    }
}
