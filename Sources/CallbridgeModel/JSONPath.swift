/// A dotted path into a JSON value (`content.order.order_id`,
/// `items.0.sku`, `refunds[status=SUCCESS|FAILED].amount`), split once when a
/// handler file is loaded rather than on every lookup. Same meaning as
/// `JSONValue.value(atPath:)`, which parses the text on each call.
///
/// Invariant: `text` is the path as written; `steps` is its parse, one per
/// `.`-separated segment (empty segments kept, as they never match).
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Step: Sendable, Hashable {
        /// An object member, or (when the segment is a number) an array index.
        case member(String, index: Int?)
        /// `name[key=a|b]`: the last element of array `name` (the current
        /// value itself when `name` is empty) whose `key` is one of `accepted`.
        case filter(name: String, key: String, accepted: Set<String>)
        /// A `[…]` segment without `=`: matches nothing.
        case invalid
    }

    public let text: String
    public let steps: [Step]

    public init(_ text: String) {
        self.text = text
        steps = text.split(separator: ".", omittingEmptySubsequences: false).map { segment in
            if let open = segment.firstIndex(of: "["), segment.last == "]" {
                let filter = segment[segment.index(after: open)..<segment.index(before: segment.endIndex)]
                guard let equals = filter.firstIndex(of: "=") else { return .invalid }
                return .filter(name: String(segment[..<open]), key: String(filter[..<equals]),
                               accepted: Set(filter[filter.index(after: equals)...].split(separator: "|", omittingEmptySubsequences: false).map(String.init)))
            }
            return .member(String(segment), index: Int(segment))
        }
    }

    public var description: String { text }

    /// The value at this path in `root`, or nil.
    public func evaluate(in root: JSONValue) -> JSONValue? {
        var current = root
        for step in steps {
            switch step {
            case .invalid:
                return nil
            case .filter(let name, let key, let accepted):
                let container = name.isEmpty ? current : current[name]
                guard case .array(let items)? = container,
                      let match = items.last(where: { $0[key]?.scalarText.map(accepted.contains) == true }) else { return nil }
                current = match
            case .member(let key, let index):
                switch current {
                case .object:
                    guard let next = current[key] else { return nil }
                    current = next
                case .array(let items):
                    guard let index, items.indices.contains(index) else { return nil }
                    current = items[index]
                default:
                    return nil
                }
            }
        }
        return current
    }
}
