import CallbridgeModel
import Testing

/// `JSONPath`, the handler files' `json:` paths parsed once: members, array
/// indexes, `name[key=a|b]` filters (the last match), and what never matches.
@Suite struct JSONPathTests {
    let document = try! JSONParser().parse(#"""
    {"content": {"order": {"order_id": "o1", "0": "zero", "refunds": [
        {"id": "r1", "status": "SUCCESS", "amount": 10},
        {"id": "r2", "status": "FAILED", "amount": 20},
        {"id": "r3", "status": "SUCCESS", "amount": 30}]},
     "items": [{"sku": "a"}, {"sku": "b"}]}}
    """#)

    @Test("members, numeric members of objects, and array indexes", arguments: [
        ("content.order.order_id", "o1"), ("content.order.0", "zero"), ("content.items.1.sku", "b"),
        ("content.order.refunds[status=SUCCESS].id", "r3"), ("content.order.refunds[status=FAILED|PENDING].amount", "20"),
    ])
    func finds(path: String, expected: String) {
        #expect(JSONPath(path).evaluate(in: document)?.scalarText == expected)
        #expect(document.value(atPath: path)?.scalarText == expected)
    }

    @Test("what matches nothing", arguments: [
        "content.order.missing", "content.items.2.sku", "content.items.x", "content..order", "content.order.refunds[status].id",
        "content.order.refunds[status=NONE].id", "content.order.order_id.deeper", "",
    ])
    func missing(path: String) {
        #expect(JSONPath(path).evaluate(in: document) == nil)
    }

    @Test("a filter with an empty name applies to the current array")
    func filterOnCurrent() throws {
        let list = try JSONParser().parse(#"[{"k": "a", "v": 1}, {"k": "b", "v": 2}]"#)
        #expect(JSONPath("[k=b].v").evaluate(in: list)?.scalarText == "2")
        #expect(JSONPath("[k=b].v").description == "[k=b].v")
    }
}
