/// The stable identity of an event: `evt_` followed by a 26-character ULID
/// (Crockford base32 of a 48-bit millisecond timestamp and 80 random bits).
///
/// Invariants: ids sort lexicographically in creation-time order (to the
/// millisecond); the same id is sent as `webhook-id` on every attempt and
/// replay of the event.
public struct EventID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public static let prefix = "evt_"
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public let rawValue: String

    /// Accepts only well-formed ids (`evt_` + 26 Crockford base32 characters).
    public init?(_ text: String) {
        guard text.hasPrefix(EventID.prefix) else { return nil }
        let body = text.utf8.dropFirst(EventID.prefix.utf8.count)
        guard body.count == 26, body.allSatisfy({ EventID.alphabet.contains($0) }) else { return nil }
        // The first character carries only 3 bits of the 48-bit timestamp.
        guard let first = body.first, first <= UInt8(ascii: "7") else { return nil }
        self.rawValue = text
    }

    /// A new id for an event created at `millisecondsSinceEpoch`.
    public static func generate(millisecondsSinceEpoch: UInt64) -> EventID {
        var rng = SystemRandomNumberGenerator()
        return generate(millisecondsSinceEpoch: millisecondsSinceEpoch, using: &rng)
    }

    public static func generate<R: RandomNumberGenerator>(millisecondsSinceEpoch: UInt64, using rng: inout R) -> EventID {
        // 128 bits: 48 time + 80 random, encoded as 26 base32 digits (130 bits, top 2 zero).
        let time = millisecondsSinceEpoch & 0xFFFF_FFFF_FFFF
        let randomHigh = UInt64.random(in: 0...0xFFFF, using: &rng)  // 16 bits
        let randomLow = rng.next()  // 64 bits
        let high = time << 16 | randomHigh  // top 64 bits of the 128
        let low = randomLow
        var chars = [UInt8](repeating: 0, count: 26)
        for i in 0..<26 {
            // bit offset of this digit from the least significant end
            let shift = (25 - i) * 5
            let digit: UInt64
            if shift >= 64 {
                digit = (high >> UInt64(shift - 64)) & 0x1F
            } else if shift + 5 <= 64 {
                digit = (low >> UInt64(shift)) & 0x1F
            } else {
                // straddles the boundary (shift == 60): 4 bits of low, 1 of high
                digit = ((low >> UInt64(shift)) | (high << UInt64(64 - shift))) & 0x1F
            }
            chars[i] = alphabet[Int(digit)]
        }
        return EventID(uncheckedRawValue: EventID.prefix + String(decoding: chars, as: UTF8.self))
    }

    private init(uncheckedRawValue: String) {
        self.rawValue = uncheckedRawValue
    }

    /// Milliseconds since the Unix epoch encoded in the id.
    public var millisecondsSinceEpoch: UInt64 {
        var value: UInt64 = 0
        for c in rawValue.utf8.dropFirst(EventID.prefix.utf8.count).prefix(10) {
            guard let digit = EventID.alphabet.firstIndex(of: c) else { return 0 }
            value = value << 5 | UInt64(digit)
        }
        return value
    }

    public var description: String { rawValue }

    public static func < (lhs: EventID, rhs: EventID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = EventID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an event id: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
