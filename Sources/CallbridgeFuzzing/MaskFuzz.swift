import CallbridgeHandlers
import CallbridgeModel

/// `CardDataMasker`: masking text keeps its length in scalars and is
/// idempotent, and so is masking a query string and a body of every format;
/// a masked body that was JSON is still JSON.
enum MaskFuzz {
    static func run(_ bytes: [UInt8]) {
        let masker = CardDataMasker()
        let text = String(decoding: bytes, as: UTF8.self)

        let masked = masker.maskText(text)
        invariant(masked.unicodeScalars.count == text.unicodeScalars.count, "maskText changed the length of \(describe(text))")
        invariant(sameScalars(masker.maskText(masked), masked), "maskText is not idempotent on \(describe(text))")
        // Only digits become '*': everything else stays in place.
        for (a, b) in zip(text.unicodeScalars, masked.unicodeScalars) where a != b {
            invariant(b == "*" && a.value >= 0x30 && a.value <= 0x39, "maskText replaced \(a.escaped(asASCII: true)) with \(b.escaped(asASCII: true))")
        }

        let form = masker.maskFormEncoded(text)
        invariant(sameScalars(masker.maskFormEncoded(form), form), "maskFormEncoded is not idempotent on \(describe(text))")

        let wasJSON = (try? JSONParser().parse(bytes)) != nil
        for format in BodyFormat.allCases {
            let body = masker.maskBody(bytes, format: format)
            invariant(masker.maskBody(body, format: format) == body, "maskBody(\(format)) is not idempotent on \(describe(text))")
            if wasJSON { invariant((try? JSONParser().parse(body)) != nil, "maskBody(\(format)) turned JSON into something else") }
        }

        // Values the handler extracted are preserved: mask with the first word kept.
        if let word = text.split(whereSeparator: { $0 == " " || $0 == "&" || $0 == "=" }).first {
            let keeping = CardDataMasker(preserving: [String(word)])
            let kept = keeping.maskText(text)
            invariant(sameScalars(keeping.maskText(kept), kept), "maskText preserving \(describe(String(word))) is not idempotent")
        }
    }
}
