import COpenSSL

/// A digest algorithm that providers sign with.
public enum DigestAlgorithm: String, Sendable, Hashable, CaseIterable {
    case sha1, sha256, sha512

    var evp: OpaquePointer? {
        switch self {
        case .sha1: return EVP_sha1()
        case .sha256: return EVP_sha256()
        case .sha512: return EVP_sha512()
        }
    }

    /// Output length in bytes.
    public var length: Int {
        switch self {
        case .sha1: return 20
        case .sha256: return 32
        case .sha512: return 64
        }
    }
}

/// Keyed-hash message authentication (RFC 2104) through OpenSSL libcrypto.
///
/// Stateless and thread-safe: every call computes a fresh MAC.
public enum HMAC {
    public static func authenticate<Key: Collection<UInt8>, Message: Collection<UInt8>>(
        _ algorithm: DigestAlgorithm, key: Key, message: Message
    ) -> [UInt8] {
        let keyBytes = Array(key)
        let messageBytes = Array(message)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        let ok = keyBytes.withUnsafeBufferPointer { k in
            messageBytes.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    // HMAC never reads a zero-length key through the pointer, but it must not be NULL.
                    let keyPointer = k.baseAddress ?? UnsafePointer(o.baseAddress!)
                    return COpenSSL.HMAC(algorithm.evp, keyPointer, Int32(k.count), m.baseAddress, m.count, o.baseAddress, &outLength)
                }
            }
        }
        precondition(ok != nil, "OpenSSL HMAC failed")
        return Array(out.prefix(Int(outLength)))
    }
}

/// One-shot message digests through OpenSSL libcrypto.
public enum Digest {
    public static func hash<Message: Collection<UInt8>>(_ algorithm: DigestAlgorithm, _ message: Message) -> [UInt8] {
        let bytes = Array(message)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var outLength: UInt32 = 0
        let ok = bytes.withUnsafeBufferPointer { m in
            out.withUnsafeMutableBufferPointer { o in
                EVP_Digest(m.baseAddress, m.count, o.baseAddress, &outLength, algorithm.evp, nil)
            }
        }
        precondition(ok == 1, "OpenSSL digest failed")
        return Array(out.prefix(Int(outLength)))
    }
}

/// Comparison of secrets and signatures in time independent of where they differ.
public enum ConstantTime {
    /// True when `a` and `b` are byte-for-byte equal. Lengths are compared
    /// first (a length is not a secret); contents through `CRYPTO_memcmp`.
    public static func equals<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        let x = Array(a)
        let y = Array(b)
        guard x.count == y.count else { return false }
        if x.isEmpty { return true }
        return x.withUnsafeBytes { xp in
            y.withUnsafeBytes { yp in
                CRYPTO_memcmp(xp.baseAddress, yp.baseAddress, x.count) == 0
            }
        }
    }

    public static func equals(_ a: String, _ b: String) -> Bool {
        equals(Array(a.utf8), Array(b.utf8))
    }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "OpenSSL RAND_bytes failed")
        return out
    }
}
