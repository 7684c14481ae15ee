import CallbridgeModel

/// Stores HTTP headers as a JSON array of `[name, value]` pairs (order and
/// repeated names kept), using the model's `JSONValue`.
package enum HeaderCoding {
    package static func render(_ headers: [HeaderField]) -> String {
        JSONValue.array(headers.map { .array([.string($0.name), .string($0.value)]) }).rendered()
    }

    package static func parse(_ text: String) throws -> [HeaderField] {
        guard case .array(let items) = try JSONParser().parse(text) else {
            throw HeaderCodingError.notAnArray
        }
        return try items.map { item in
            guard case .array(let pair) = item, pair.count == 2,
                  let name = pair[0].stringValue, let value = pair[1].stringValue
            else { throw HeaderCodingError.notAPair }
            return HeaderField(name: name, value: value)
        }
    }
}

/// Why a stored header list could not be read back.
package enum HeaderCodingError: Error, Sendable {
    case notAnArray
    case notAPair
}
