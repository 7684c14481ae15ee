import CallbridgeCrypto

// Thin aliases so test files read as the protocol they check.
enum ByteEncodingForTests {
    static func hex(_ bytes: [UInt8]) -> String { ByteEncoding.hex(bytes) }
}

enum HMACForTests {
    static func sha256(key: String, _ message: String) -> [UInt8] {
        HMAC.authenticate(.sha256, key: Array(key.utf8), message: Array(message.utf8))
    }
}
