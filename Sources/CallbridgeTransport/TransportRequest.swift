/// One outbound HTTP request, as the dispatcher describes it.
///
/// A plain value: build it on any thread and hand it to a ``Transport``.
/// ``validate()`` states what a transport accepts; ``CurlTransport`` runs it
/// before anything reaches libcurl and throws ``TransportError/invalidRequest(_:)``
/// on failure.
public struct TransportRequest: Sendable {
    /// Absolute `http://` or `https://` URL.
    public var url: String
    /// HTTP method token; `POST` by default. `GET` and `HEAD` send no body;
    /// other methods (`PUT`, `PATCH`, `DELETE`, ...) send ``body`` like `POST`.
    public var method: String
    /// Request headers in the order given. Names are sent as written; a header
    /// with an empty value is sent empty. Without a `Content-Type` none is sent.
    public var headers: [(String, String)]
    /// Request body, sent as is with a `Content-Length`.
    public var body: [UInt8]
    /// Deadline for the whole exchange: queueing for a connection, connecting,
    /// TLS, sending and receiving.
    public var timeout: Duration
    /// Deadline for establishing the connection (TCP and TLS).
    public var connectTimeout: Duration
    /// How many bytes of the response body to keep; the rest is read and
    /// discarded. Defaults to 4096, a bounded snippet for delivery attempts.
    public var maxResponseBytes: Int
    /// PEM client certificate for mutual TLS, if the endpoint needs one.
    public var clientCertificatePath: String?
    /// PEM private key that goes with ``clientCertificatePath``.
    public var clientKeyPath: String?
    /// Proxy URL (`http://host:port`, `socks5h://host:port`, ...), if any.
    public var proxy: String?

    /// The default size of the kept response body snippet.
    public static let defaultMaxResponseBytes = 4096

    /// A request with delivery-friendly defaults: `POST`, 30 s total and
    /// 10 s connect timeout, a 4096-byte response snippet, no proxy.
    public init(
        url: String,
        method: String = "POST",
        headers: [(String, String)] = [],
        body: [UInt8] = [],
        timeout: Duration = .seconds(30),
        connectTimeout: Duration = .seconds(10),
        maxResponseBytes: Int = TransportRequest.defaultMaxResponseBytes,
        clientCertificatePath: String? = nil,
        clientKeyPath: String? = nil,
        proxy: String? = nil
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
        self.clientCertificatePath = clientCertificatePath
        self.clientKeyPath = clientKeyPath
        self.proxy = proxy
    }

    /// Checks what can be checked without the network: method and header
    /// syntax (no CR/LF injection), positive timeouts, a non-negative body
    /// limit, a URL without control characters, no body on `GET`/`HEAD`.
    public func validate() throws(TransportError) {
        guard !url.isEmpty, !url.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F }) else {
            throw .invalidRequest("url is empty or contains whitespace or control characters")
        }
        guard !method.isEmpty, method.utf8.allSatisfy(Self.isTokenByte) else {
            throw .invalidRequest("method \"\(method)\" is not an HTTP token")
        }
        if method == "GET" || method == "HEAD", !body.isEmpty {
            throw .invalidRequest("a \(method) request cannot carry a body")
        }
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
                throw .invalidRequest("header name \"\(name)\" is not an HTTP token")
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }) else {
                throw .invalidRequest("header \"\(name)\" has a CR, LF or NUL in its value")
            }
        }
        guard timeout > .zero else { throw .invalidRequest("timeout must be positive") }
        guard connectTimeout > .zero else { throw .invalidRequest("connectTimeout must be positive") }
        guard maxResponseBytes >= 0 else { throw .invalidRequest("maxResponseBytes must not be negative") }
        for (label, value) in [("clientCertificatePath", clientCertificatePath), ("clientKeyPath", clientKeyPath), ("proxy", proxy)] {
            if let value, value.utf8.contains(0) {
                throw .invalidRequest("\(label) contains a NUL byte")
            }
        }
    }

    /// RFC 9110 `tchar`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}
