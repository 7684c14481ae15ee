/// Why an inbound request was refused, with the HTTP status it maps to. The
/// server answers these as `{"error": code, "detail": detail}`; details name
/// the problem and never contain secrets.
public struct IngestError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var detail: String
    /// Why verification failed (`VerificationFailure.rawValue`), for metrics; nil for other errors.
    public var verificationReason: String?

    public init(status: Int, code: String, detail: String, verificationReason: String? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.verificationReason = verificationReason
    }

    public static func malformedBody(_ detail: String) -> IngestError {
        IngestError(status: 400, code: "malformed_body", detail: detail)
    }

    public static func unsupportedMediaType(_ got: String?, expected: String) -> IngestError {
        IngestError(status: 415, code: "unsupported_media_type",
                    detail: "content-type \(got.map { "'\($0)'" } ?? "(none)") is not accepted here; send \(expected)")
    }

    public static func verificationFailed(_ failure: VerificationFailure) -> IngestError {
        if failure == .secretNotConfigured {
            return IngestError(status: 503, code: "route_not_configured", detail: failure.detail, verificationReason: failure.rawValue)
        }
        return IngestError(status: 401, code: "verification_failed", detail: failure.detail, verificationReason: failure.rawValue)
    }

    public static func routeNotFound(_ path: String) -> IngestError {
        IngestError(status: 404, code: "route_not_found", detail: "no handler route is configured for \(path)")
    }

    public static func methodNotAllowed(_ method: String, allowed: [String]) -> IngestError {
        IngestError(status: 405, code: "method_not_allowed", detail: "\(method) is not allowed here; use \(allowed.joined(separator: ", "))")
    }

    public static func bodyTooLarge(limit: Int) -> IngestError {
        IngestError(status: 413, code: "body_too_large", detail: "the request body exceeds the limit of \(limit) bytes")
    }

    public var description: String { "\(status) \(code): \(detail)" }
}
