/// A money amount as the decimal string the provider meant, never a binary float.
///
/// Invariants: `text` matches `-?[0-9]+(\.[0-9]+)?` with no exponent and no
/// superfluous leading zeros; a `,` decimal separator (as some providers write)
/// is normalized to `.` at construction (except `1,000`, which is ambiguous and
/// refused), and thousands separators are refused.
public struct DecimalAmount: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    /// Parses `raw`, trimming surrounding spaces. Accepts `100`, `100.00`, `-5.5`,
    /// `0.10`, and `100,50` (decimal comma). Rejects `1e3`, `1,000.00`, `.5`, ``.
    public init?(_ raw: String) {
        var s = Substring(raw.trimmingSpaces())
        var negative = false
        if s.first == "-" { negative = true; s = s.dropFirst() } else if s.first == "+" { s = s.dropFirst() }
        let separators = s.filter { $0 == "." || $0 == "," }
        guard separators.count <= 1 else { return nil }
        let parts = s.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "." || $0 == "," })
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy({ $0.isASCIIDigit }) else { return nil }
        var fraction: Substring?
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy({ $0.isASCIIDigit }) else { return nil }
            // `1,000` may be one thousand or one: refuse rather than guess.
            if s.contains(","), parts[1].count == 3 { return nil }
            fraction = parts[1]
        }
        var wholeDigits = whole.drop(while: { $0 == "0" })
        if wholeDigits.isEmpty { wholeDigits = "0" }
        var result = negative ? "-" : ""
        result += wholeDigits
        if let fraction { result += "." + fraction }
        self.text = result
    }

    /// Strictly `[0-9]+(\.[0-9]+)?`: no sign, spaces or comma. For amounts a
    /// merchant types or sends (registration), where a lenient reading would
    /// hide a mistake.
    public static func plain(_ raw: String) -> DecimalAmount? {
        let parts = raw.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { (0x30...0x39).contains($0) } }) else { return nil }
        return DecimalAmount(raw)
    }

    public var description: String { text }
}

/// An ISO 4217 alphabetic currency code (three uppercase ASCII letters).
public struct CurrencyCode: Sendable, Hashable, CustomStringConvertible {
    public let code: String

    /// Accepts three ASCII letters in any case and stores them uppercased.
    public init?(_ raw: String) {
        let trimmed = raw.trimmingSpaces()
        guard trimmed.utf8.count == 3, trimmed.utf8.allSatisfy({ ($0 | 0x20) >= 0x61 && ($0 | 0x20) <= 0x7A }) else {
            return nil
        }
        self.code = trimmed.uppercased()
    }

    public var description: String { code }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    /// The string without leading and trailing spaces, tabs and newlines.
    public func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}

/// Exact decimal comparison and addition, on the digits themselves: no
/// binary float, no integer that can overflow, whatever length a provider
/// sends. `100`, `100.0` and `100.00` are equal in value (their `text`
/// differs and is kept as sent). Not `Comparable`: `==` compares the text.
extension DecimalAmount {
    /// Sign, whole digits without leading zeros, and fraction digits without
    /// trailing zeros; zero is never negative.
    private var canonical: (negative: Bool, whole: [UInt8], fraction: [UInt8]) {
        var bytes = Array(text.utf8)
        var negative = false
        if bytes.first == UInt8(ascii: "-") { negative = true; bytes.removeFirst() }
        let dot = bytes.firstIndex(of: UInt8(ascii: "."))
        var whole = Array(bytes[..<(dot ?? bytes.endIndex)])
        var fraction = dot.map { Array(bytes[($0 + 1)...]) } ?? []
        while whole.first == UInt8(ascii: "0") { whole.removeFirst() }
        while fraction.last == UInt8(ascii: "0") { fraction.removeLast() }
        if whole.isEmpty && fraction.isEmpty { negative = false }
        return (negative, whole, fraction)
    }

    /// Compares magnitudes of canonical parts: -1, 0 or 1.
    private static func compareMagnitude(_ a: (whole: [UInt8], fraction: [UInt8]), _ b: (whole: [UInt8], fraction: [UInt8])) -> Int {
        if a.whole.count != b.whole.count { return a.whole.count < b.whole.count ? -1 : 1 }
        for (x, y) in zip(a.whole, b.whole) where x != y { return x < y ? -1 : 1 }
        for index in 0..<max(a.fraction.count, b.fraction.count) {
            let x = index < a.fraction.count ? a.fraction[index] : UInt8(ascii: "0")
            let y = index < b.fraction.count ? b.fraction[index] : UInt8(ascii: "0")
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }

    /// -1, 0 or 1 as `self` is less than, equal to or greater than `other` in value.
    public func compareValue(_ other: DecimalAmount) -> Int {
        let a = canonical, b = other.canonical
        if a.negative != b.negative { return a.negative ? -1 : 1 }
        let magnitude = Self.compareMagnitude((a.whole, a.fraction), (b.whole, b.fraction))
        return a.negative ? -magnitude : magnitude
    }

    /// Whether both amounts are the same number (`100` and `100.00` are).
    public func isEqualInValue(to other: DecimalAmount) -> Bool { compareValue(other) == 0 }

    public static let zero = DecimalAmount("0")!

    /// The amount without its sign.
    public var magnitude: DecimalAmount {
        text.hasPrefix("-") ? DecimalAmount(String(text.dropFirst()))! : self
    }

    /// The exact sum of both magnitudes, written with the larger number of
    /// fraction digits of the two (`100.00` + `5.5` = `105.50`).
    public func addingMagnitude(_ other: DecimalAmount) -> DecimalAmount {
        func split(_ amount: DecimalAmount) -> (whole: [UInt8], fraction: [UInt8]) {
            let bytes = Array(amount.magnitude.text.utf8)
            let dot = bytes.firstIndex(of: UInt8(ascii: "."))
            return (Array(bytes[..<(dot ?? bytes.endIndex)]), dot.map { Array(bytes[($0 + 1)...]) } ?? [])
        }
        let a = split(self), b = split(other)
        let scale = max(a.fraction.count, b.fraction.count)
        let zero = UInt8(ascii: "0")
        let left = a.whole + a.fraction + [UInt8](repeating: zero, count: scale - a.fraction.count)
        let right = b.whole + b.fraction + [UInt8](repeating: zero, count: scale - b.fraction.count)
        var sum: [UInt8] = []
        var carry: UInt8 = 0
        var i = left.count - 1, j = right.count - 1
        while i >= 0 || j >= 0 || carry > 0 {
            let x = i >= 0 ? left[i] - zero : 0
            let y = j >= 0 ? right[j] - zero : 0
            let digit = x + y + carry
            sum.append(zero + digit % 10)
            carry = digit / 10
            i -= 1; j -= 1
        }
        sum.reverse()
        while sum.count < scale + 1 { sum.insert(zero, at: 0) }
        var text = String(decoding: sum[..<(sum.count - scale)], as: UTF8.self)
        if scale > 0 { text += "." + String(decoding: sum[(sum.count - scale)...], as: UTF8.self) }
        return DecimalAmount(text)!
    }
}
