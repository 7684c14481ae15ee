/// A JSON document as data, with number literals kept verbatim.
///
/// Callbridge never routes amounts through binary floating point (docs/ARCHITECTURE.md,
/// "The event contract"), so `.number` holds the literal exactly as it appeared
/// in the provider's payload (`100.00` stays `100.00`). Objects keep their
/// member order, which makes rendering deterministic and lets stored envelopes
/// round-trip byte for byte.
///
/// Invariants: `.number` always holds a valid JSON number literal; object keys
/// may repeat only if the parsed input repeated them (the first wins on lookup).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .number(let n): hasher.combine(n)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let members):
            hasher.combine(members.count)
            for (k, v) in members { hasher.combine(k); hasher.combine(v) }
        }
    }

    /// The member named `key` of an object (the first, if repeated), else nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    /// Follows a dotted path such as `content.order.order_id`; numeric
    /// segments index into arrays (`items.0.sku`). A segment `name[key=a|b]`
    /// takes the array `name` and continues with its last element whose
    /// member `key` is `a` or `b` (compared as scalar text): for arrays a
    /// provider appends to, such as Juspay's `refunds[status=SUCCESS]`, the
    /// newest match. Filter values cannot contain `.`.
    public func value(atPath path: String) -> JSONValue? {
        JSONPath(path).evaluate(in: self)
    }

    /// The value as text when it is a scalar: strings as-is, numbers as their
    /// literal, booleans as `true`/`false`. Nil for null, arrays and objects.
    public var scalarText: String? {
        switch self {
        case .string(let s): return s
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        default: return nil
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var objectMembers: [(String, JSONValue)]? {
        if case .object(let m) = self { return m }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

// MARK: - Rendering

extension JSONValue {
    /// Compact JSON text (no insignificant whitespace), members in stored order.
    public func rendered() -> String {
        var out = ""
        out.reserveCapacity(512)
        render(into: &out)
        return out
    }

    public func renderedBytes() -> [UInt8] { Array(rendered().utf8) }

    func render(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): JSONValue.renderString(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.render(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.renderString(key, into: &out)
                out += ":"
                value.render(into: &out)
            }
            out += "}"
        }
    }

    /// Scalars written as `\uXXXX` besides the mandatory ones: C0, DEL and C1
    /// controls, direction marks and overrides, and the line separators, so
    /// JSON printed to a terminal can neither drive it nor reorder what it shows.
    @inline(__always) static func escapedScalar(_ value: UInt32) -> Bool {
        value < 0x20 || (0x7F...0x9F).contains(value) || (0x2028...0x202E).contains(value) || value == 0x200E || value == 0x200F
            || (0x2066...0x2069).contains(value)
    }

    static func renderString(_ s: String, into out: inout String) {
        out += "\""
        // Printable ASCII without a quote or a backslash (most ids, statuses, amounts)
        // needs no escape: appended whole, not scalar by scalar.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if JSONValue.escapedScalar(scalar.value) {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension JSONValue {
    /// Indented JSON for people (two spaces), members in stored order.
    public func renderedPretty() -> String {
        var out = ""
        renderPretty(into: &out, indent: 0)
        return out
    }

    func renderPretty(into out: inout String, indent: Int) {
        let pad = String(repeating: "  ", count: indent + 1)
        let closePad = String(repeating: "  ", count: indent)
        switch self {
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                item.renderPretty(into: &out, indent: indent + 1)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += closePad + "]"
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            for (i, (key, value)) in members.enumerated() {
                out += pad
                JSONValue.renderString(key, into: &out)
                out += ": "
                value.renderPretty(into: &out, indent: indent + 1)
                out += i + 1 < members.count ? ",\n" : "\n"
            }
            out += closePad + "}"
        default:
            render(into: &out)
        }
    }
}
