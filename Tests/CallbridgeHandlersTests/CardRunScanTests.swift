import CallbridgeModel
import Testing

@testable import CallbridgeHandlers

/// `CardDataMasker.mayHoldLuhnRun`, the allocation-free scan that lets
/// `maskText` return most text untouched, against a plain reading of the
/// same rule: it must say yes for every text `maskText` would change.
@Suite struct CardRunScanTests {
    /// The runs `maskText` walks, found the slow, obvious way: digits, with
    /// one `' '` or `'-'` between two digits allowed.
    static func referenceHasRun(_ text: String) -> Bool {
        let chars = Array(text.unicodeScalars)
        var i = 0
        while i < chars.count {
            guard ("0"..."9").contains(chars[i]) else { i += 1; continue }
            var digits = ""
            var j = i
            while j < chars.count {
                if chars[j].isASCII, ("0"..."9").contains(chars[j]) {
                    digits.unicodeScalars.append(chars[j])
                    j += 1
                } else if chars[j] == " " || chars[j] == "-", j + 1 < chars.count, chars[j + 1].isASCII, ("0"..."9").contains(chars[j + 1]) {
                    j += 1
                } else {
                    break
                }
            }
            if (12...19).contains(digits.count), CardDataMasker.luhnValid(digits) { return true }
            i = max(j, i + 1)
        }
        return false
    }

    @Test func knownTextsAreReadRight() {
        let cases: [(String, Bool)] = [
            ("4111111111111111", true),
            ("card 4111 1111 1111 1111 ok", true),
            ("4111-1111-1111-1111", true),
            ("4111111111111112", false),            // Luhn fails
            ("41111111111", false),                 // 11 digits
            ("4111  1111 1111 1111", false),        // a double space splits the run: 4 and 12 digits, neither valid
            ("b737837102414514ae0e9717a9f2664d", CardDataMasker.luhnValid("737837102414514")),
            ("2026-11-23T09:59:58.123Z", false),
            ("55555555555544441", false),           // 17 digits, Luhn fails
            ("x4012888888881881y", true),
            ("12345678901234567890123", false),     // 23 digits: longer than any card number
            ("ü4012888888881881", true),
        ]
        for (text, expected) in cases {
            #expect(CardDataMasker.mayHoldLuhnRun(text) == expected, "\(text)")
            #expect(Self.referenceHasRun(text) == expected, "reference: \(text)")
        }
    }

    @Test func agreesWithTheReferenceOnGeneratedText() {
        // A fixed-seed generator over an alphabet dense in digits and separators.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let alphabet = Array("0123456789012345678901234567890123456789 -a-é ".unicodeScalars)
        let cards = ["4111111111111111", "4012888888881881", "378282246310005", "6011111111111117"]
        var positives = 0
        for round in 0..<4_000 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int(next() % 48) { text.append(alphabet[Int(next() % UInt64(alphabet.count))]) }
            if round % 5 == 0 { text.append(contentsOf: cards[Int(next() % 4)].unicodeScalars) }
            let string = String(text)
            let expected = Self.referenceHasRun(string)
            if expected { positives += 1 }
            #expect(CardDataMasker.mayHoldLuhnRun(string) == expected, "\(string)")
            // maskText changes the text exactly when there is such a run (nothing preserved).
            #expect((CardDataMasker().maskText(string) != string) == expected, "\(string)")
        }
        #expect(positives > 200, "the generator must reach the interesting case often")
    }
}
