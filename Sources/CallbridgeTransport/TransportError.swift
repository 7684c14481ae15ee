/// Why a ``Transport`` got no HTTP response for a request.
///
/// HTTP error statuses are *not* errors (see ``Transport``). Each case carries
/// a human description for delivery attempt records and logs.
public enum TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The request's total timeout (or connect timeout) elapsed.
    case timeout
    /// No connection: refused, unreachable, DNS failure, reset, or the peer
    /// closed without answering. Carries libcurl's message.
    case connectionFailed(String)
    /// The TLS handshake or certificate verification failed.
    case tls(String)
    /// The request cannot be sent as described (bad URL, method, header, option).
    case invalidRequest(String)
    /// The calling task was cancelled before a response arrived.
    case cancelled
    /// The transport was shut down before a response arrived.
    case shutDown
    /// Any other libcurl failure, with its `CURLcode` and message.
    case other(code: Int, message: String)

    public var description: String {
        switch self {
        case .timeout: "timed out waiting for the endpoint"
        case .connectionFailed(let message): "could not connect: \(message)"
        case .tls(let message): "TLS failure: \(message)"
        case .invalidRequest(let message): "invalid request: \(message)"
        case .cancelled: "the request was cancelled"
        case .shutDown: "the transport is shut down"
        case .other(let code, let message): "transport error \(code): \(message)"
        }
    }
}
