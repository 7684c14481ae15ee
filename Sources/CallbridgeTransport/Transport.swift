/// The seam between delivery and the network: send one HTTP request, get one
/// HTTP response back.
///
/// The dispatcher depends on this protocol only, so tests and other back ends
/// can stand in for libcurl. ``CurlTransport`` is the production
/// implementation.
///
/// Contract every implementation keeps:
/// - Any HTTP status, including 3xx, 4xx and 5xx, is a *response*, never an
///   error; redirects are not followed.
/// - At most ``TransportRequest/maxResponseBytes`` of the body come back; the
///   rest is read and discarded.
/// - Errors are only for requests that got no HTTP response (timeout, refused
///   connection, TLS failure, invalid request, cancellation, shutdown).
/// - `send` may be called from any task or thread, concurrently.
public protocol Transport: Sendable {
    /// Sends `request` and waits for the complete response (or the first
    /// ``TransportRequest/maxResponseBytes`` of its body).
    ///
    /// Cancelling the calling task abandons the request and throws
    /// ``TransportError/cancelled``.
    func send(_ request: TransportRequest) async throws(TransportError) -> TransportResponse
}
