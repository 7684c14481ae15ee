import CCurl

/// One request in flight on the curl thread: its easy handle, the request
/// headers handed to libcurl, and the response as it arrives.
///
/// Thread: curl thread only. libcurl calls ``writeCallback`` and
/// ``headerCallback`` from inside `curl_multi_perform`, i.e. on the curl
/// thread, with an unretained pointer to this object (WRITEDATA, HEADERDATA,
/// PRIVATE). ``CurlMultiLoop`` keeps the object alive in its `active` table
/// until the easy handle has left the multi handle, so the pointer never
/// dangles.
final class CurlTransfer {
    /// At most this many response header lines are kept (a bound on memory).
    static let maxResponseHeaderCount = 128

    let ticket: TransferTicket
    let easy: CurlEasyHandle
    private let started: ContinuousClock.Instant
    private var requestHeaders: UnsafeMutablePointer<curl_slist>?

    private let bodyLimit: Int
    private(set) var body: [UInt8] = []
    private(set) var bodyTruncated = false
    private(set) var responseHeaders: [(String, String)] = []

    init(ticket: TransferTicket, easy: CurlEasyHandle) {
        self.ticket = ticket
        self.easy = easy
        self.started = .now
        self.bodyLimit = max(0, ticket.request.maxResponseBytes)
        body.reserveCapacity(min(bodyLimit, 16 * 1024))
    }

    deinit {
        curl_slist_free_all(requestHeaders)
    }

    /// An unretained pointer to `self` for libcurl's user-data options.
    var opaque: UnsafeMutableRawPointer {
        Unmanaged.passUnretained(self).toOpaque()
    }

    static func from(_ pointer: UnsafeMutableRawPointer) -> CurlTransfer {
        Unmanaged<CurlTransfer>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Sets every option for this request on the (freshly reset) easy handle.
    func configure(_ configuration: CurlTransport.Configuration) throws(TransportError) {
        let request = ticket.request
        try easy.attachErrorBuffer()
        try easy.set(CURLOPT_URL, request.url)
        try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try easy.set(CURLOPT_NOSIGNAL, true)
        try easy.set(CURLOPT_FOLLOWLOCATION, false)
        try easy.set(CURLOPT_SSL_VERIFYPEER, true)
        try easy.set(CURLOPT_SSL_VERIFYHOST, 2)
        // HTTP/2 over TLS when the endpoint offers it (ALPN), HTTP/1.1 otherwise.
        // A libcurl built without HTTP/2 refuses the option: HTTP/1.1 it is.
        try? easy.set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        try easy.set(CURLOPT_TIMEOUT_MS, request.timeout.curlMilliseconds)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeout.curlMilliseconds)
        try easy.set(CURLOPT_USERAGENT, configuration.userAgent)
        if let path = configuration.caBundlePath { try easy.set(CURLOPT_CAINFO, path) }
        if let path = request.clientCertificatePath { try easy.set(CURLOPT_SSLCERT, path) }
        if let path = request.clientKeyPath { try easy.set(CURLOPT_SSLKEY, path) }
        if let proxy = request.proxy { try easy.set(CURLOPT_PROXY, proxy) }

        switch request.method {
        case "GET":
            try easy.set(CURLOPT_HTTPGET, true)
        case "HEAD":
            try easy.set(CURLOPT_NOBODY, true)
        case "POST":
            try easy.set(CURLOPT_POST, true)
            try easy.setBody(request.body)
        default:
            try easy.set(CURLOPT_POST, true)
            try easy.setBody(request.body)
            try easy.set(CURLOPT_CUSTOMREQUEST, request.method)
        }

        try setRequestHeaders(request)

        try easy.set(CURLOPT_WRITEFUNCTION, callback: Self.writeCallback)
        try easy.set(CURLOPT_WRITEDATA, pointer: opaque)
        try easy.set(CURLOPT_HEADERFUNCTION, callback: Self.headerCallback)
        try easy.set(CURLOPT_HEADERDATA, pointer: opaque)
        try easy.set(CURLOPT_PRIVATE, pointer: opaque)
    }

    /// The caller's headers, plus two removals: no `Expect: 100-continue`
    /// round trip, and no form `Content-Type` that the caller did not ask for.
    private func setRequestHeaders(_ request: TransportRequest) throws(TransportError) {
        var lines: [String] = []
        var hasContentType = false
        var hasExpect = false
        for (name, value) in request.headers {
            let lowered = name.lowercased()
            hasContentType = hasContentType || lowered == "content-type"
            hasExpect = hasExpect || lowered == "expect"
            // "Name;" is libcurl's spelling of a header with an empty value.
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        if !hasExpect { lines.append("Expect:") }
        if !hasContentType { lines.append("Content-Type:") }

        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let appended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw .other(code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "out of memory building request headers")
            }
            list = appended
        }
        curl_slist_free_all(requestHeaders)
        requestHeaders = list
        try easy.set(CURLOPT_HTTPHEADER, list: list)
    }

    /// The response, once libcurl reported the transfer done with `CURLE_OK`.
    func response() -> TransportResponse {
        let microseconds = easy.info(offset: CURLINFO_TOTAL_TIME_T)
        let duration = microseconds > 0 ? Duration.microseconds(microseconds) : ContinuousClock.now - started
        return TransportResponse(
            status: easy.info(CURLINFO_RESPONSE_CODE),
            headers: responseHeaders,
            body: body,
            bodyTruncated: bodyTruncated,
            duration: duration,
            httpVersion: Self.httpVersion(easy.info(CURLINFO_HTTP_VERSION))
        )
    }

    private static func httpVersion(_ value: Int) -> TransportResponse.HTTPVersion {
        switch value {
        case Int(CURL_HTTP_VERSION_1_0): .http1_0
        case Int(CURL_HTTP_VERSION_1_1): .http1_1
        case Int(CURL_HTTP_VERSION_2_0): .http2
        case Int(CURL_HTTP_VERSION_3): .http3
        default: .unknown
        }
    }

    // MARK: Callbacks (curl thread, inside curl_multi_perform)

    /// Keeps the first `bodyLimit` bytes and consumes the rest.
    private func receiveBody(_ bytes: UnsafeRawBufferPointer) {
        let room = bodyLimit - body.count
        if bytes.count > room { bodyTruncated = true }
        if room > 0 { body.append(contentsOf: bytes.prefix(room)) }
    }

    /// One header line, CRLF included. A status line starts a new response
    /// (after `100 Continue` or a proxy's `CONNECT` answer), so it clears the
    /// headers collected so far.
    private func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        ResponseHeaderLines.apply(bytes, to: &responseHeaders, limit: Self.maxResponseHeaderCount)
    }

    static let writeCallback: curl_write_callback = { data, size, count, userData in
        let length = size * count
        guard let userData else { return 0 }
        if let data, length > 0 {
            from(userData).receiveBody(UnsafeRawBufferPointer(start: data, count: length))
        }
        return length
    }

    static let headerCallback: curl_write_callback = { data, size, count, userData in
        let length = size * count
        guard let userData else { return 0 }
        if let data, length > 0 {
            from(userData).receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: length))
        }
        return length
    }
}
