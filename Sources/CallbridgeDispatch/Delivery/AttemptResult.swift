/// What one HTTP attempt came back with, reduced to what the retry policy
/// needs. Built from a transport response or error by the dispatcher.
public enum AttemptResult: Sendable, Hashable {
    /// A response arrived (any status). `retryAfter` is the raw header value.
    case response(status: Int, retryAfter: String?)
    case timeout
    /// Connection refused, DNS, TLS or other transport failure.
    case transportError(String)

    /// 2xx only; 3xx is a failure because redirects are not followed.
    public var isSuccess: Bool {
        if case .response(let status, _) = self { return (200..<300).contains(status) }
        return false
    }

    /// 410 Gone: the endpoint asked not to be called again.
    public var isGone: Bool {
        if case .response(410, _) = self { return true }
        return false
    }

    /// Failures that mean "overloaded or unreachable, slow down": 429, 502,
    /// 503, 504 and timeouts back off at least `RetryPolicy.slowDownFloor`.
    public var asksToSlowDown: Bool {
        switch self {
        case .response(let status, _): return [429, 502, 503, 504].contains(status)
        case .timeout: return true
        case .transportError: return false
        }
    }

    public var statusCode: Int? {
        if case .response(let status, _) = self { return status }
        return nil
    }

    /// A short description for the attempt record (`last_error`).
    public var errorDescription: String? {
        switch self {
        case .response(let status, _): return isSuccess ? nil : "HTTP \(status)"
        case .timeout: return "timeout"
        case .transportError(let message): return message
        }
    }
}
