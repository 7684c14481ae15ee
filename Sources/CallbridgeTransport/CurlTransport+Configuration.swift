extension CurlTransport {
    /// Settings shared by every request of one ``CurlTransport``: connection
    /// limits of the multi handle and defaults for each request.
    ///
    /// A value type, checked by ``validate()`` when the transport is created.
    public struct Configuration: Sendable {
        /// Size of the idle connection cache (`CURLMOPT_MAXCONNECTS`): how many
        /// finished connections are kept open for reuse.
        public var maxConnections: Int
        /// Open connections per host and port (`CURLMOPT_MAX_HOST_CONNECTIONS`);
        /// further requests to that host wait for one. 0 means no limit.
        public var maxHostConnections: Int
        /// Open connections in total (`CURLMOPT_MAX_TOTAL_CONNECTIONS`);
        /// 0 means no limit.
        public var maxTotalConnections: Int
        /// Finished easy handles kept for reuse.
        public var maxIdleHandles: Int
        /// `User-Agent` sent unless a request sets its own.
        public var userAgent: String
        /// CA bundle (PEM) to verify servers with instead of the system's.
        public var caBundlePath: String?
        /// The OS name of the curl thread (at most 15 bytes), for `ps`/`top` and tests.
        public var threadName: String

        /// The default `User-Agent`.
        public static let defaultUserAgent = "Callbridge/0.1.0"

        /// Defaults sized for a dispatcher: a 256-connection cache, at most 32
        /// connections per endpoint host, 64 pooled easy handles.
        public init(
            maxConnections: Int = 256,
            maxHostConnections: Int = 32,
            maxTotalConnections: Int = 0,
            maxIdleHandles: Int = 64,
            userAgent: String = Configuration.defaultUserAgent,
            caBundlePath: String? = nil,
            threadName: String = CurlTransport.threadName
        ) {
            self.threadName = threadName
            self.maxConnections = maxConnections
            self.maxHostConnections = maxHostConnections
            self.maxTotalConnections = maxTotalConnections
            self.maxIdleHandles = maxIdleHandles
            self.userAgent = userAgent
            self.caBundlePath = caBundlePath
        }

        /// Rejects negative limits and a user agent with control characters.
        public func validate() throws(TransportError) {
            for (name, value) in [
                ("maxConnections", maxConnections), ("maxHostConnections", maxHostConnections),
                ("maxTotalConnections", maxTotalConnections), ("maxIdleHandles", maxIdleHandles),
            ] where value < 0 {
                throw .invalidRequest("configuration \(name) must not be negative (got \(value))")
            }
            guard !threadName.isEmpty, threadName.utf8.count <= 15 else {
                throw .invalidRequest("configuration threadName must be 1 to 15 bytes (got \(threadName.utf8.count))")
            }
            guard !userAgent.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                throw .invalidRequest("configuration userAgent contains control characters")
            }
        }
    }
}
