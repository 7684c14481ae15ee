import CallbridgeModel

/// Extracts one value from an inbound request. Handler files name sources as
/// `kind:argument` strings; adding a kind is adding a conformance.
public protocol FieldExtractor: Sendable {
    func extract(from request: InboundRequest) -> JSONValue?
}

/// Where a field lives in a provider request, as written in handler files:
/// `json:content.order.order_id`, `param:order_id` (query or form),
/// `query:status`, `form:status`, `header:X-Request-Id`, `path:outcome`,
/// `const:success`.
public enum FieldSource: FieldExtractor, Hashable, CustomStringConvertible {
    /// Parsed once, when the handler file is loaded.
    case json(JSONPath)
    case param(String)
    case query(String)
    case form(String)
    case header(String)
    case path(String)
    case constant(String)

    public static let kinds = ["json", "param", "query", "form", "header", "path", "const"]

    /// Parses `kind:argument`; nil when the kind is unknown or the argument empty.
    public init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let kind = String(text[..<colon])
        let argument = String(text[text.index(after: colon)...])
        guard !argument.isEmpty else { return nil }
        switch kind {
        case "json": self = .json(JSONPath(argument))
        case "param": self = .param(argument)
        case "query": self = .query(argument)
        case "form": self = .form(argument)
        case "header": self = .header(argument.lowercased())
        case "path": self = .path(argument)
        case "const": self = .constant(argument)
        default: return nil
        }
    }

    public func extract(from request: InboundRequest) -> JSONValue? {
        switch self {
        case .json(let path):
            return request.json.flatMap(path.evaluate)
        case .param(let name):
            return request.param(name).map(JSONValue.string)
        case .query(let name):
            return request.queryParameters.first(where: { $0.0 == name }).map { .string($0.1) }
        case .form(let name):
            guard let body = String(validating: request.raw.body, as: UTF8.self), let pairs = FormURLEncoding.parse(body) else { return nil }
            return pairs.first(where: { $0.0 == name }).map { .string($0.1) }
        case .header(let name):
            return request.raw.header(name).map(JSONValue.string)
        case .path(let name):
            return request.pathParameters[name].map(JSONValue.string)
        case .constant(let value):
            return .string(value)
        }
    }

    /// Extracts a non-empty scalar as text (numbers keep their literal).
    public func text(from request: InboundRequest) -> String? {
        guard let value = extract(from: request), let text = value.scalarText, !text.isEmpty else { return nil }
        return text
    }

    public var description: String {
        switch self {
        case .json(let p): return "json:\(p.text)"
        case .param(let n): return "param:\(n)"
        case .query(let n): return "query:\(n)"
        case .form(let n): return "form:\(n)"
        case .header(let n): return "header:\(n)"
        case .path(let n): return "path:\(n)"
        case .constant(let v): return "const:\(v)"
        }
    }
}
