import CallbridgeModel
import Testing

@Suite("JSONParser")
struct JSONParserTests {
    let parser = JSONParser()

    @Test("number literals are kept verbatim, never through a binary float")
    func numbersKeptVerbatim() throws {
        let value = try parser.parse(#"{"amount": 100.00, "small": 0.10, "neg": -5.5, "exp": 1.5E+3, "big": 12345678901234567890123}"#)
        #expect(value["amount"] == .number("100.00"))
        #expect(value["small"] == .number("0.10"))
        #expect(value["neg"] == .number("-5.5"))
        #expect(value["exp"] == .number("1.5E+3"))
        #expect(value["big"] == .number("12345678901234567890123"))
        #expect(value.rendered() == #"{"amount":100.00,"small":0.10,"neg":-5.5,"exp":1.5E+3,"big":12345678901234567890123}"#)
    }

    @Test("object members keep their order and the first of a repeated key wins on lookup")
    func memberOrder() throws {
        let value = try parser.parse(#"{"b":1,"a":2,"b":3}"#)
        #expect(value.objectMembers?.map(\.0) == ["b", "a", "b"])
        #expect(value["b"] == .number("1"))
    }

    @Test("simple escapes decode to their characters")
    func escapes() throws {
        let value = try parser.parse(#"["a\"b", "c\\d", "e\/f", "\b\f\n\r\t", "\u0041\u00e9\u20AC"]"#)
        #expect(value == .array([.string("a\"b"), .string("c\\d"), .string("e/f"), .string("\u{08}\u{0C}\n\r\t"), .string("Aé€")]))
    }

    @Test("a surrogate pair decodes to one astral scalar")
    func surrogatePair() throws {
        #expect(try parser.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parser.parse(#""\uD834\uDD1E""#) == .string("𝄞"))
    }

    @Test("lone or mismatched surrogates are rejected", arguments: [
        #""\ud83d""#, #""\ude00""#, #""\ud83dx""#, #""\ud83d\u0041""#,
    ])
    func loneSurrogates(text: String) {
        #expect(throws: JSONParser.Failure.self) { try parser.parse(text) }
    }

    @Test("raw UTF-8 in strings is accepted and invalid UTF-8 is rejected")
    func utf8() throws {
        #expect(try parser.parse(Array("\"café €\"".utf8)) == .string("café €"))
        #expect(throws: JSONParser.Failure.self) { try parser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test("trailing garbage after the document is rejected", arguments: [
        "{} x", "{}{}", "[1] ]", "1 2", "true false", #"{"a":1},"#,
    ])
    func trailingGarbage(text: String) {
        #expect(throws: JSONParser.Failure.self) { try parser.parse(text) }
    }

    @Test("whitespace around the document is allowed")
    func surroundingWhitespace() throws {
        #expect(try parser.parse(" \n\t{\"a\" : [ 1 , 2 ] }\r\n ") == .object([("a", .array([.number("1"), .number("2")]))]))
    }

    @Test("malformed numbers, including leading zeros, are rejected", arguments: [
        "01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "1.2.3", "NaN", "Infinity",
    ])
    func badNumbers(text: String) {
        #expect(throws: JSONParser.Failure.self) { try parser.parse(text) }
    }

    @Test("zero forms that are valid JSON are accepted", arguments: ["0", "-0", "0.0", "0e5", "-0.5E-2"])
    func zeroForms(text: String) throws {
        #expect(try parser.parse(text) == .number(text))
    }

    @Test("other malformed documents are rejected", arguments: [
        "", "   ", "{", "[1,]", #"{"a":1,}"#, #"{a:1}"#, "'x'", #""unterminated"#, "\"tab\there\"", #""\x""#, "tru", "nul",
        #"{"a" 1}"#, #""\u12G4""#,
    ])
    func malformed(text: String) {
        #expect(throws: JSONParser.Failure.self) { try parser.parse(text) }
    }

    @Test("nesting up to the limit is accepted and deeper nesting is rejected without exhausting the stack")
    func depthLimit() throws {
        let shallow = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try parser.parse(shallow) }
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONParser.Failure.self) { try parser.parse(deep) }
        let hostile = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: JSONParser.Failure.self) { try parser.parse(hostile) }
        let custom = JSONParser(maxDepth: 2)
        #expect(throws: Never.self) { try custom.parse("[[1]]") }
        #expect(throws: JSONParser.Failure.self) { try custom.parse("[[[1]]]") }
    }

    @Test("a failure reports the byte offset where parsing stopped")
    func failureOffset() {
        let failure = #expect(throws: JSONParser.Failure.self) { try parser.parse("{} x") }
        #expect(failure?.offset == 3)
        #expect(failure?.description == "unexpected data after the JSON document at byte 3")
    }

    @Test("rendering escapes control characters, quotes and line separators, and re-parses to the same value")
    func renderRoundTrip() throws {
        let value = JSONValue.object([
            ("s", .string("q\"b\\n\n\u{01}\u{1F}\u{2028}é😀")),
            ("a", .array([.null, .bool(true), .bool(false), .number("-1.50")])),
            ("o", .object([])),
        ])
        let text = value.rendered()
        #expect(text.contains(#"\u0001"#))
        #expect(text.contains(#"\u001f"#))
        #expect(text.contains(#"\u2028"#))
        #expect(try parser.parse(text) == value)
    }

    @Test("value(atPath:) follows dotted object keys and numeric array indices")
    func paths() throws {
        let value = try parser.parse(#"{"content":{"order":{"order_id":"ord_1","items":[{"sku":"A"},{"sku":"B"}]}}}"#)
        #expect(value.value(atPath: "content.order.order_id") == .string("ord_1"))
        #expect(value.value(atPath: "content.order.items.1.sku") == .string("B"))
        #expect(value.value(atPath: "content.order.items.2.sku") == nil)
        #expect(value.value(atPath: "content.missing") == nil)
        #expect(value.value(atPath: "content.order.order_id.deeper") == nil)
    }
}
