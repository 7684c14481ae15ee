/// What each provider's order-status API looks like from outside: its status
/// words and the one request it answers. ``StatusAPISimulator`` plays it.
extension SimulatedProvider {
    /// The status word the provider's status API uses for a paid order:
    /// Juspay `CHARGED`, Luxfin `SUCCESS`, NonStoPay `invoice:paid`.
    public var successWord: String {
        switch self {
        case .juspay: return "CHARGED"
        case .luxfin: return "SUCCESS"
        case .nonstopay: return "invoice:paid"
        }
    }

    /// The status word the provider's status API uses for an order that is not
    /// final yet: Juspay `PENDING_VBV`, Luxfin `PENDING`, NonStoPay `invoice:waiting`.
    public var pendingWord: String {
        switch self {
        case .juspay: return "PENDING_VBV"
        case .luxfin: return "PENDING"
        case .nonstopay: return "invoice:waiting"
        }
    }

    /// The order-status request, for people: `GET /orders/{order_id}` and so on.
    public var statusAPIRequest: String {
        switch self {
        case .juspay: return "GET /orders/{order_id}"
        case .luxfin: return "GET /payment/status?payment_id={payment_id}"
        case .nonstopay: return "GET /api/invoice/status/?id={invoice_id}"
        }
    }

    /// The currency the status API reports when an answer names none.
    var statusAPIDefaultCurrency: String {
        switch self {
        case .juspay: return "INR"
        case .luxfin: return "USD"
        case .nonstopay: return "EUR"
        }
    }

    /// Juspay's numeric `status_id` for an order status word, or nil for a
    /// word it documents no id for.
    static func juspayStatusID(for status: String) -> Int? {
        switch status {
        case "NEW": return 10
        case "STARTED": return 20
        case "CHARGED": return 21
        case "JUSPAY_DECLINED": return 22
        case "PENDING_VBV": return 23
        case "AUTHORIZED": return 25
        case "AUTHENTICATION_FAILED": return 26
        case "AUTHORIZATION_FAILED": return 27
        case "AUTHORIZING": return 28
        case "VOIDED": return 31
        case "AUTO_REFUNDED": return 36
        default: return nil
        }
    }
}
