/// The request as it reached Callbridge, kept in the log so that an event can
/// be re-normalized later (`replay --renormalize`) and audited.
///
/// Invariants: secret-bearing headers (Authorization, signatures, API keys,
/// cookies) are removed or masked and card data in the body is masked before a
/// `RawRequest` is stored; `body` holds the exact bytes otherwise.
public struct RawRequest: Sendable, Hashable {
    public var method: String
    public var path: String
    /// The query string without the leading `?`, exactly as received (empty if none).
    public var query: String
    /// Header names lowercased, in arrival order.
    public var headers: [HeaderField]
    public var body: [UInt8]
    public var remoteAddress: String?
    public var receivedAt: Timestamp

    public init(method: String, path: String, query: String, headers: [HeaderField], body: [UInt8], remoteAddress: String?, receivedAt: Timestamp) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.receivedAt = receivedAt
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first(where: { $0.name == lower })?.value
    }
}

/// One HTTP header; `name` is lowercased.
public struct HeaderField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name.lowercased()
        self.value = value
    }
}
