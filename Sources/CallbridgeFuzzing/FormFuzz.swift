import CallbridgeHandlers

/// `FormURLEncoding`: parsed pairs render to text that parses to the same pairs;
/// both encoders are inverted by `decode`; nothing traps on any input.
enum FormFuzz {
    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let pairs = FormURLEncoding.parse(text) {
            let rendered = FormURLEncoding.render(pairs)
            guard let back = FormURLEncoding.parse(rendered) else {
                invariant(false, "rendered pairs do not parse: \(describe(rendered))")
                return
            }
            invariant(sameScalars(back, pairs), "rendered pairs parse to other pairs: \(describe(rendered))")
        }
        let form = FormURLEncoding.encodeFormComponent(text)
        invariant(form.utf8.allSatisfy { $0 < 0x80 && $0 != UInt8(ascii: "&") && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: " ") },
                  "form encoding left a separator or a non-ASCII byte: \(describe(form))")
        invariant(FormURLEncoding.decode(form, plusAsSpace: true).map { sameScalars($0, text) } == true,
                  "decode does not invert encodeFormComponent for \(describe(text))")
        let component = FormURLEncoding.encodeComponent(text)
        invariant(FormURLEncoding.decode(component, plusAsSpace: false).map { sameScalars($0, text) } == true,
                  "decode does not invert encodeComponent for \(describe(text))")
        _ = FormURLEncoding.decode(text, plusAsSpace: false)
    }
}
