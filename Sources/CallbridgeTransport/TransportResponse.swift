/// The HTTP response to a ``TransportRequest``: whatever status the endpoint
/// answered, including 3xx/4xx/5xx.
///
/// Invariants: ``headers`` names are lowercased and belong to the final
/// response only (no `100 Continue` or proxy `CONNECT` headers); ``body`` holds
/// at most the request's ``TransportRequest/maxResponseBytes`` first bytes.
public struct TransportResponse: Sendable {
    /// The HTTP version the response came over.
    public enum HTTPVersion: Sendable, Hashable, CustomStringConvertible {
        case http1_0
        case http1_1
        case http2
        case http3
        case unknown

        public var description: String {
            switch self {
            case .http1_0: "HTTP/1.0"
            case .http1_1: "HTTP/1.1"
            case .http2: "HTTP/2"
            case .http3: "HTTP/3"
            case .unknown: "HTTP/?"
            }
        }
    }

    /// Status code, e.g. 200, 302, 410, 500.
    public var status: Int
    /// Response headers in arrival order, names lowercased, values trimmed.
    public var headers: [(String, String)]
    /// The first bytes of the response body, at most the request's limit.
    public var body: [UInt8]
    /// Whether the endpoint sent more body than ``body`` holds.
    public var bodyTruncated: Bool
    /// Wall time of the exchange as the transport measured it.
    public var duration: Duration
    /// Protocol version of the response.
    public var httpVersion: HTTPVersion

    /// Builds a response; transports do this, tests and other back ends may too.
    public init(
        status: Int,
        headers: [(String, String)] = [],
        body: [UInt8] = [],
        bodyTruncated: Bool = false,
        duration: Duration = .zero,
        httpVersion: HTTPVersion = .http1_1
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyTruncated = bodyTruncated
        self.duration = duration
        self.httpVersion = httpVersion
    }

    /// The first value of header `name` (matched case-insensitively), if any.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first(where: { $0.0 == lowered })?.1
    }
}
