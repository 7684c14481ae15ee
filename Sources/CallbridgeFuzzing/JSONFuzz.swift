import CallbridgeModel

/// `JSONParser().parse`: any input either fails with a `Failure` or yields a
/// value whose compact and pretty renderings parse back to the same value, and
/// whose compact rendering is stable (rendering the re-parsed value gives the
/// same bytes).
enum JSONFuzz {
    static func run(_ bytes: [UInt8]) {
        let parser = JSONParser()
        let value: JSONValue
        do {
            value = try parser.parse(bytes)
        } catch {
            invariant(error.offset >= 0 && error.offset <= bytes.count, "failure offset \(error.offset) outside the input (\(bytes.count) bytes)")
            return
        }
        let compact = value.renderedBytes()
        guard let again = try? parser.parse(compact) else {
            invariant(false, "the compact rendering does not parse: \(describe(String(decoding: compact, as: UTF8.self)))")
            return
        }
        invariant(again == value, "the compact rendering parses to another value")
        invariant(again.renderedBytes() == compact, "rendering is not stable")
        let pretty = value.renderedPretty()
        guard let fromPretty = try? parser.parse(pretty) else {
            invariant(false, "the pretty rendering does not parse: \(describe(pretty))")
            return
        }
        invariant(fromPretty.renderedBytes() == compact, "the pretty rendering parses to another value")
    }
}
