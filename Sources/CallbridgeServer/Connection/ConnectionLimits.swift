import CallbridgeModel

/// What one client connection may cost (`limits:` in the config): deadlines
/// for each phase of a request, the size of a request head, and how many
/// connections are served at once. Defaults suit a payment callback
/// receiver: provider requests are small and quick, so anything slow or huge
/// is refused early and cheaply.
///
/// Invariants: every timeout is longer than zero; every count and size is
/// at least 1; `maxURIBytes <= maxHeaderBytes` (the request line is read by
/// the same decoder under the header limit).
public struct ConnectionLimits: Sendable, Hashable {
    /// From a request's first byte to its complete head; then 408 and close.
    public var headerTimeout = ConfigDuration.seconds(10)
    /// From a complete head to the end of its body; then 408 and close.
    public var bodyTimeout = ConfigDuration.seconds(30)
    /// A keep-alive connection waiting for its next request is closed after this.
    public var idleTimeout = ConfigDuration.seconds(60)
    /// Open connections served at once; beyond it accepting pauses (the kernel backlog holds the rest).
    public var maxConnections = 1024
    /// All header lines of one request together (431 beyond).
    public var maxHeaderBytes = 64 * 1024
    /// Header fields in one request (431 beyond).
    public var maxHeaders = 100
    /// The request target, path and query (414 beyond).
    public var maxURIBytes = 8 * 1024
    /// `&`-separated query parameters (400 `too_many_parameters` beyond).
    public var maxQueryParameters = 256

    public init() {}
}
