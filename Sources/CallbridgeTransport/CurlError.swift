import CCurl

/// Maps libcurl result codes to ``TransportError``.
///
/// Pure functions; any thread.
enum CurlError {
    /// libcurl's fixed text for `code`.
    static func message(for code: CURLcode) -> String {
        guard let text = curl_easy_strerror(code) else { return "CURLcode \(code.rawValue)" }
        return String(cString: text)
    }

    /// libcurl's fixed text for a multi-interface `code`.
    static func message(for code: CURLMcode) -> String {
        guard let text = curl_multi_strerror(code) else { return "CURLMcode \(code.rawValue)" }
        return String(cString: text)
    }

    /// The error for a finished transfer that ended with `code`; `detail` is
    /// the handle's `CURLOPT_ERRORBUFFER` text when libcurl wrote one.
    static func transportError(for code: CURLcode, detail: String) -> TransportError {
        let message = detail.isEmpty ? message(for: code) : detail
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY,
             CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
             CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_PROXY:
            return .connectionFailed(message)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
             CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED, CURLE_SSL_SHUTDOWN_FAILED:
            return .tls(message)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_BAD_FUNCTION_ARGUMENT,
             CURLE_UNKNOWN_OPTION, CURLE_NOT_BUILT_IN:
            return .invalidRequest(message)
        default:
            return .other(code: Int(code.rawValue), message: message)
        }
    }
}
