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
