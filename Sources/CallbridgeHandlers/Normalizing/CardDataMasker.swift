import CallbridgeModel

/// Masks card data before anything is stored or logged (docs/ARCHITECTURE.md):
/// Luhn-valid runs of 12–19 digits (spaces or dashes allowed between digits)
/// keep only their last four digits, and values of CVV-like fields become `***`.
///
/// Invariant: values listed in `preserving` (the event's own order,
/// transaction and provider-event ids) are left as they are, so that a numeric
/// order id that happens to pass the Luhn check is not destroyed.
public struct CardDataMasker: Sendable {
    /// Field names (compared lowercased with `_` and `-` removed) whose values are CVV-like.
    public static let cvvFieldNames: Set<String> = [
        "cvv", "cvc", "cvv2", "cvc2", "csc", "cvn", "cvd", "securitycode", "cardsecuritycode", "cardcvv", "cardcvc", "cardverificationvalue",
    ]
    public static let cvvReplacement = "***"

    public var preserving: Set<String>

    public init(preserving: Set<String> = []) {
        self.preserving = preserving
    }

    public static func isCVVField(_ name: String) -> Bool {
        // Every CVV-like name has a `c` and is short: most keys are refused without folding.
        guard name.utf8.count <= 40, name.utf8.contains(where: { $0 == UInt8(ascii: "c") || $0 == UInt8(ascii: "C") }) else { return false }
        let folded = name.lowercased().filter { $0 != "_" && $0 != "-" }
        return cvvFieldNames.contains(folded)
    }

    /// Whether `text` has the 12 ASCII digits a card number needs (most text
    /// has not, and is returned as it is without being copied).
    static func mayHoldCardNumber(_ text: String) -> Bool {
        var digits = 0
        for byte in text.utf8 where byte >= 0x30 && byte <= 0x39 {
            digits += 1
            if digits >= 12 { return true }
        }
        return false
    }

    /// Whether `text` has a run that `maskText` could mask: 12–19 ASCII
    /// digits, single `' '` or `'-'` between them, passing the Luhn check.
    /// Read in place over the UTF-8 bytes, allocating nothing; most text that
    /// has 12 digits (hex ids, timestamps) has no such run and is returned
    /// by `maskText` without being taken apart.
    static func mayHoldLuhnRun(_ text: String) -> Bool {
        guard mayHoldCardNumber(text) else { return false }
        if let found = text.utf8.withContiguousStorageIfAvailable({ hasLuhnRun($0) }) { return found }
        return hasLuhnRun(Array(text.utf8))
    }

    /// The runs are the ones `maskText` walks: a digit starts one; it goes on
    /// over digits, and over a single separator that a digit follows. Luhn
    /// doubles every second digit counted from the right; reading from the
    /// left, both parities are summed and the run's length picks one.
    private static func hasLuhnRun<Bytes: RandomAccessCollection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8, Bytes.Index == Int {
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        var i = bytes.startIndex
        while i < bytes.endIndex {
            guard isDigit(bytes[i]) else { i += 1; continue }
            var count = 0
            var evenDoubled = 0  // digits at even positions from the left doubled
            var oddDoubled = 0   // digits at odd positions from the left doubled
            var j = i
            while j < bytes.endIndex {
                let byte = bytes[j]
                if isDigit(byte) {
                    let digit = Int(byte) - 0x30
                    let doubled = digit * 2 > 9 ? digit * 2 - 9 : digit * 2
                    if count % 2 == 0 { evenDoubled += doubled; oddDoubled += digit } else { evenDoubled += digit; oddDoubled += doubled }
                    count += 1
                    j += 1
                } else if byte == 0x20 || byte == 0x2D, j + 1 < bytes.endIndex, isDigit(bytes[j + 1]) {
                    j += 1
                } else {
                    break
                }
            }
            // Counted from the right, the doubled digits are those whose position from the left has the parity of `count`.
            if (12...19).contains(count), (count % 2 == 0 ? evenDoubled : oddDoubled) % 10 == 0 { return true }
            i = j
        }
        return false
    }

    /// The text with every Luhn-valid 12–19 digit run masked.
    public func maskText(_ text: String) -> String {
        guard Self.mayHoldLuhnRun(text) else { return text }
        let chars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < chars.count {
            guard chars[i].isASCIIDigit else {
                out.append(chars[i])
                i += 1
                continue
            }
            // Extend over digits with single ' ' or '-' separators between them.
            var j = i
            var digitPositions: [Int] = []
            while j < chars.count {
                if chars[j].isASCIIDigit {
                    digitPositions.append(j)
                    j += 1
                } else if (chars[j] == " " || chars[j] == "-"), j + 1 < chars.count, chars[j + 1].isASCIIDigit {
                    j += 1
                } else {
                    break
                }
            }
            let digits = String(String.UnicodeScalarView(digitPositions.map { chars[$0] }))
            let run = String(String.UnicodeScalarView(chars[i..<j]))
            if (12...19).contains(digitPositions.count), CardDataMasker.luhnValid(digits),
               !preserving.contains(digits), !preserving.contains(run) {
                let keep = Set(digitPositions.suffix(4))
                for k in i..<j {
                    out.append(chars[k].isASCIIDigit && !keep.contains(k) ? "*" : chars[k])
                }
            } else {
                out.append(contentsOf: chars[i..<j])
            }
            i = j
        }
        return String(out)
    }

    /// Masks strings and long numbers inside a JSON value, and CVV-like members.
    /// A number literal that is a card number becomes a masked string.
    public func maskJSON(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let s):
            return .string(maskText(s))
        case .number(let n):
            let masked = maskText(n)
            return masked == n ? value : .string(masked)
        case .array(let items):
            return .array(items.map(maskJSON))
        case .object(let members):
            return .object(members.map { key, member in
                if CardDataMasker.isCVVField(key), member != .null {
                    return (key, .string(CardDataMasker.cvvReplacement))
                }
                return (key, maskJSON(member))
            })
        case .null, .bool:
            return value
        }
    }

    /// Whether `maskJSON` would change `value`, found without building a new tree.
    public func needsMasking(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let s), .number(let s):
            return Self.mayHoldLuhnRun(s) && maskText(s) != s
        case .array(let items):
            return items.contains(where: needsMasking)
        case .object(let members):
            return members.contains { key, member in
                if CardDataMasker.isCVVField(key) { return member != .null && member != .string(CardDataMasker.cvvReplacement) }
                return needsMasking(member)
            }
        case .null, .bool:
            return false
        }
    }

    public func maskPairs(_ pairs: [(String, String)]) -> [(String, String)] {
        pairs.map { key, value in
            (key, CardDataMasker.isCVVField(key) ? CardDataMasker.cvvReplacement : maskText(value))
        }
    }

    /// Masks a query string or form body; returns the input unchanged (byte for
    /// byte) when there was nothing to mask.
    public func maskFormEncoded(_ text: String) -> String {
        guard let pairs = FormURLEncoding.parse(text) else { return maskText(text) }
        let masked = maskPairs(pairs)
        let changed = zip(pairs, masked).contains { $0.1 != $1.1 }
        return changed ? FormURLEncoding.render(masked) : text
    }

    /// Masks a body of the given format; JSON is re-rendered only if something changed.
    ///
    /// - Parameter parsedJSON: `body` already parsed as JSON, when the caller
    ///   has it (ingest does), so the hot path parses a body once; nil parses here.
    public func maskBody(_ body: [UInt8], format: BodyFormat, parsedJSON: JSONValue? = nil) -> [UInt8] {
        guard !body.isEmpty else { return body }
        // The body as parsed (JSON routes): nothing to mask keeps the exact bytes, with no new tree built.
        if let json = parsedJSON {
            return needsMasking(json) ? maskJSON(json).renderedBytes() : body
        }
        guard let text = String(validating: body, as: UTF8.self) else { return body }
        if let json = try? JSONParser().parse(body) {
            return needsMasking(json) ? maskJSON(json).renderedBytes() : body
        }
        if format != .json, text.contains("=") {
            let masked = maskFormEncoded(text)
            return masked == text ? body : Array(masked.utf8)
        }
        let masked = maskText(text)
        return masked == text ? body : Array(masked.utf8)
    }

    /// Luhn (mod 10) check over ASCII digits.
    public static func luhnValid(_ digits: String) -> Bool {
        var sum = 0
        var double = false
        for scalar in digits.unicodeScalars.reversed() {
            guard scalar.isASCIIDigit else { return false }
            var d = Int(scalar.value) - 48
            if double {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
            double.toggle()
        }
        return sum % 10 == 0
    }
}

extension Unicode.Scalar {
    var isASCIIDigit: Bool { value >= 48 && value <= 57 }
}
