import CallbridgeModel

/// A provider request after its body was read and parsed according to the
/// route's `format`: what verifiers and field extractors look at.
///
/// Invariants: `raw` is exactly what arrived (nothing masked yet); `json` is
/// set only for JSON routes; `params` holds query parameters followed by form
/// fields (for `params` and `form` routes); `pathParameters` come from `{name}`
/// segments of the matched route path.
public struct InboundRequest: Sendable {
    public var raw: RawRequest
    public var json: JSONValue?
    public var params: [(String, String)]
    public var pathParameters: [String: String]

    public init(raw: RawRequest, json: JSONValue? = nil, params: [(String, String)] = [], pathParameters: [String: String] = [:]) {
        self.raw = raw
        self.json = json
        self.params = params
        self.pathParameters = pathParameters
    }

    /// The first parameter called `name`.
    public func param(_ name: String) -> String? {
        params.first(where: { $0.0 == name })?.1
    }

    /// Parameters from the query string only.
    public var queryParameters: [(String, String)] {
        FormURLEncoding.parse(raw.query) ?? []
    }
}
