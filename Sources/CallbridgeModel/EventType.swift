/// The normalized kind of an event, as internal services see it in `type`.
///
/// `unmapped` is used when no handler maps the provider's status: such events
/// are kept and delivered, never dropped (docs/ARCHITECTURE.md).
public enum EventType: String, Sendable, Hashable, CaseIterable, Codable {
    case paymentCreated = "payment.created"
    case paymentPending = "payment.pending"
    case paymentAuthorized = "payment.authorized"
    case paymentSucceeded = "payment.succeeded"
    case paymentFailed = "payment.failed"
    case paymentCancelled = "payment.cancelled"
    case paymentExpired = "payment.expired"
    case refundSucceeded = "refund.succeeded"
    case refundFailed = "refund.failed"
    case refundPending = "refund.pending"
    case disputeOpened = "dispute.opened"
    case disputeClosed = "dispute.closed"
    case unmapped = "unmapped"

    /// The coarse result a browser return lands with (`{outcome}` in landing templates).
    public var outcome: ReturnOutcome {
        switch self {
        case .paymentSucceeded, .paymentAuthorized, .refundSucceeded: return .success
        case .paymentFailed, .refundFailed, .paymentExpired: return .failure
        case .paymentCancelled: return .cancel
        case .paymentCreated, .paymentPending, .refundPending: return .pending
        case .disputeOpened, .disputeClosed, .unmapped: return .unknown
        }
    }
}

/// What a browser return tells the shopper's landing page, in one word.
public enum ReturnOutcome: String, Sendable, Hashable, CaseIterable {
    case success, failure, cancel, pending, unknown
}

/// Whether an event came server-to-server, through the shopper's browser, or
/// from Callbridge asking the provider.
public enum Channel: String, Sendable, Hashable, CaseIterable, Codable {
    /// A provider's server-to-server notification (webhook).
    case callback
    /// A browser return to a `return_url` / `redirect_url`: a hint, never proof on its own.
    case redirect
    /// The provider's answer to a status check Callbridge made (its order-status API).
    case statusCheck = "status_check"
}

/// How the authenticity of an event was established (`data.verification`).
public enum VerificationMethod: String, Sendable, Hashable, CaseIterable, Codable {
    case hmac
    case basicAuth = "basic_auth"
    case apiKey = "api_key"
    case signatureParam = "signature_param"
    /// Written by builds before status checks (a return confirmed in place); read back, never produced.
    case confirmedByAPI = "confirmed_by_api"
    /// Callbridge asked the provider's API itself (a status check's answer).
    case providerAPI = "provider_api"
    case ipAllowlist = "ip_allowlist"
    case none
}
