import CCurl

/// Process-wide libcurl initialisation.
///
/// `curl_global_init` must run exactly once per process, before any other
/// libcurl call and not concurrently with one. A `static let` is initialised
/// once, lazily and thread-safely by the Swift runtime (`swift_once`), which is
/// exactly that guarantee. It is never undone: `curl_global_cleanup` at exit
/// buys nothing and would race other users of libcurl in the process.
enum CurlGlobal {
    /// `CURLE_OK` once libcurl is initialised, otherwise the failure code.
    private static let initResult: CURLcode = cb_curl_global_init_default()

    /// Initialises libcurl if nobody has yet; any thread may call this.
    static func ensureInitialized() throws(TransportError) {
        let code = initResult
        guard code == CURLE_OK else {
            throw .other(code: Int(code.rawValue), message: "curl_global_init failed: \(CurlError.message(for: code))")
        }
    }
}
