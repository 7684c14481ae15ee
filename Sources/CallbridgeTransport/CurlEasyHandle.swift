import CCurl

/// Owns one libcurl easy handle (`CURL *`) and its error buffer.
///
/// Thread: created, used and freed on the curl thread only (see
/// ``CurlMultiLoop``); never shared, hence not `Sendable`. Handles are pooled
/// and reused after ``reset()``, which keeps libcurl's per-handle caches (DNS,
/// TLS session) warm; connections themselves live in the multi handle's pool.
final class CurlEasyHandle {
    let raw: UnsafeMutableRawPointer
    /// `CURLOPT_ERRORBUFFER`: libcurl writes a detailed message here on failure.
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init?() {
        guard let raw = curl_easy_init() else { return nil }
        self.raw = raw
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(raw)
        errorBuffer.deallocate()
    }

    /// Clears every option (back to libcurl defaults) before reuse.
    func reset() {
        curl_easy_reset(raw)
        errorBuffer[0] = 0
    }

    /// What libcurl wrote to the error buffer during the last transfer.
    var errorDetail: String {
        String(cString: errorBuffer)
    }

    /// Points `CURLOPT_ERRORBUFFER` at this handle's buffer; needed after
    /// every `reset()`.
    func attachErrorBuffer() throws(TransportError) {
        errorBuffer[0] = 0
        try check(cb_easy_setopt_pointer(raw, CURLOPT_ERRORBUFFER, errorBuffer), CURLOPT_ERRORBUFFER)
    }

    // MARK: Typed options

    func set(_ option: CURLoption, _ value: Int) throws(TransportError) {
        try check(cb_easy_setopt_long(raw, option, value), option)
    }

    func set(_ option: CURLoption, _ value: Bool) throws(TransportError) {
        try check(cb_easy_setopt_long(raw, option, value ? 1 : 0), option)
    }

    func set(_ option: CURLoption, offset value: Int64) throws(TransportError) {
        try check(cb_easy_setopt_off_t(raw, option, curl_off_t(value)), option)
    }

    /// libcurl copies string options, so `value` need not outlive the call
    /// (except `CURLOPT_POSTFIELDS`, which this type never sets).
    func set(_ option: CURLoption, _ value: String) throws(TransportError) {
        let code = value.withCString { cb_easy_setopt_string(raw, option, $0) }
        try check(code, option)
    }

    func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws(TransportError) {
        try check(cb_easy_setopt_pointer(raw, option, value), option)
    }

    func set(_ option: CURLoption, list value: UnsafeMutablePointer<curl_slist>?) throws(TransportError) {
        try check(cb_easy_setopt_slist(raw, option, value), option)
    }

    func set(_ option: CURLoption, callback value: curl_write_callback) throws(TransportError) {
        try check(cb_easy_setopt_write_callback(raw, option, value), option)
    }

    /// Sends `bytes` as the request body; libcurl keeps its own copy
    /// (`CURLOPT_COPYPOSTFIELDS`), so nothing has to outlive this call.
    func setBody(_ bytes: [UInt8]) throws(TransportError) {
        try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(bytes.count))
        let code = bytes.withUnsafeBytes { buffer -> CURLcode in
            // An empty body still needs a valid pointer.
            var empty: UInt8 = 0
            guard let base = buffer.baseAddress else {
                return withUnsafeMutablePointer(to: &empty) {
                    cb_easy_setopt_pointer(raw, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer($0))
                }
            }
            return cb_easy_setopt_pointer(raw, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base))
        }
        try check(code, CURLOPT_COPYPOSTFIELDS)
    }

    // MARK: Typed info

    func info(_ info: CURLINFO) -> Int {
        var value = 0
        return cb_easy_getinfo_long(raw, info, &value) == CURLE_OK ? value : 0
    }

    func info(offset info: CURLINFO) -> Int64 {
        var value: curl_off_t = 0
        return cb_easy_getinfo_off_t(raw, info, &value) == CURLE_OK ? Int64(value) : 0
    }

    /// The pointer stored with `CURLOPT_PRIVATE`.
    var privatePointer: UnsafeMutableRawPointer? {
        var value: UnsafeMutableRawPointer?
        return cb_easy_getinfo_private(raw, &value) == CURLE_OK ? value : nil
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(TransportError) {
        guard code == CURLE_OK else {
            let error = CurlError.transportError(for: code, detail: "")
            switch error {
            case .invalidRequest(let message), .tls(let message), .connectionFailed(let message):
                throw .invalidRequest("option \(option.rawValue): \(message)")
            default:
                throw error
            }
        }
    }
}
