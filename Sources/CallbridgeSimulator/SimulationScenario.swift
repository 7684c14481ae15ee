import CallbridgeModel

/// The payment outcome a simulated provider request reports.
public enum SimulationScenario: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The payment went through (Juspay `CHARGED`, Luxfin `success`, NonStoPay `invoice:paid`).
    case succeeded
    /// The payment was declined or failed.
    case failed
    /// The payment is not final yet (3-D Secure pending, invoice pending).
    case pending
    /// The buyer or merchant cancelled (Juspay `VOIDED`, NonStoPay `invoice:canceled`).
    case cancelled
    /// The payment was refunded.
    case refunded

    public var description: String { rawValue }
}

/// The providers the simulator can impersonate: the ones with a shipped
/// handler file (`handlers/*.yaml`).
public enum SimulatedProvider: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Juspay: Basic-auth order webhooks and the signed `return_url` redirect.
    case juspay
    /// Luxfin: `X-Luxfintech-Signature` payment webhooks and unsigned browser returns to `redirect_url`.
    case luxfin
    /// NonStoPay: `X-Signature` invoice notifications and four return URLs.
    case nonstopay

    public var description: String { rawValue }

    /// The handler route that receives this provider's requests on `channel`,
    /// or nil when the provider sends nothing on that channel.
    public func routeName(for channel: Channel) -> String? {
        switch (self, channel) {
        case (.juspay, .callback): return "webhook"
        case (.juspay, .redirect): return "return"
        case (.luxfin, .callback): return "webhook"
        case (.luxfin, .redirect): return "return"
        case (.nonstopay, .callback): return "callback"
        case (.nonstopay, .redirect): return "return"
        case (_, .statusCheck): return nil // Callbridge asks; the provider sends nothing (see StatusAPISimulator).
        }
    }

    /// The channels this provider uses, the default first: callback, except
    /// for Luxfin, whose browser return stays the default (its webhook is
    /// `--channel callback`), as the simulator has always played it.
    public var channels: [Channel] {
        let order: [Channel] = self == .luxfin ? [.redirect, .callback] : [.callback, .redirect]
        return order.filter { routeName(for: $0) != nil }
    }

    /// The scenarios this provider can report on `channel`, in
    /// ``SimulationScenario`` order; empty for a channel it does not use.
    public func scenarios(on channel: Channel) -> [SimulationScenario] {
        SimulationScenario.allCases.filter { outcome(of: $0, on: channel) != nil }
    }

    /// The channel used when none is asked for: callback when the provider
    /// reports `scenario` there, else redirect; nil when it reports it nowhere.
    public func defaultChannel(for scenario: SimulationScenario) -> Channel? {
        channels.first { outcome(of: scenario, on: $0) != nil }
    }

    /// What the provider sends for `scenario` on `channel` (status words as the
    /// provider spells them) and the event type the shipped handler maps it to.
    func outcome(of scenario: SimulationScenario, on channel: Channel) -> ProviderOutcome? {
        switch (self, channel, scenario) {
        // Juspay webhooks: the event name decides; order status alongside.
        case (.juspay, .callback, .succeeded): return ProviderOutcome(event: "ORDER_SUCCEEDED", status: "CHARGED", statusID: "21", type: .paymentSucceeded)
        case (.juspay, .callback, .failed): return ProviderOutcome(event: "ORDER_FAILED", status: "AUTHORIZATION_FAILED", statusID: "27", type: .paymentFailed)
        case (.juspay, .callback, .cancelled): return ProviderOutcome(event: "ORDER_VOIDED", status: "VOIDED", statusID: "31", type: .paymentCancelled)
        case (.juspay, .callback, .refunded): return ProviderOutcome(event: "ORDER_REFUNDED", status: "CHARGED", statusID: "21", type: .refundSucceeded)
        case (.juspay, .callback, .pending): return nil // Juspay sends no webhook for a pending order.
        // Juspay return_url: the order status and its numeric id.
        case (.juspay, .redirect, .succeeded): return ProviderOutcome(status: "CHARGED", statusID: "21", type: .paymentSucceeded)
        case (.juspay, .redirect, .failed): return ProviderOutcome(status: "AUTHORIZATION_FAILED", statusID: "27", type: .paymentFailed)
        case (.juspay, .redirect, .pending): return ProviderOutcome(status: "PENDING_VBV", statusID: "23", type: .paymentPending)
        case (.juspay, .redirect, .refunded): return ProviderOutcome(status: "AUTO_REFUNDED", statusID: "36", type: .refundSucceeded)
        case (.juspay, .redirect, .cancelled): return nil // No order status for a cancelled checkout.
        // Luxfin redirect_url.
        case (.luxfin, .redirect, .succeeded): return ProviderOutcome(status: "success", type: .paymentSucceeded)
        case (.luxfin, .redirect, .failed): return ProviderOutcome(status: "failed", type: .paymentFailed)
        case (.luxfin, .redirect, .pending): return ProviderOutcome(status: "pending", type: .paymentPending)
        case (.luxfin, .redirect, .cancelled): return ProviderOutcome(status: "cancelled", type: .paymentCancelled)
        case (.luxfin, .redirect, .refunded): return nil
        // Luxfin webhooks: upper-case statuses (SUCCESS, PENDING documented; the failure and cancel words are not).
        case (.luxfin, .callback, .succeeded): return ProviderOutcome(status: "SUCCESS", type: .paymentSucceeded)
        case (.luxfin, .callback, .pending): return ProviderOutcome(status: "PENDING", type: .paymentPending)
        case (.luxfin, .callback, .failed): return ProviderOutcome(status: "FAILED", type: .paymentFailed)
        case (.luxfin, .callback, .cancelled): return ProviderOutcome(status: "CANCELLED", type: .paymentCancelled)
        case (.luxfin, .callback, .refunded): return nil
        // NonStoPay notifications.
        case (.nonstopay, .callback, .succeeded): return ProviderOutcome(status: "invoice:paid", type: .paymentSucceeded)
        case (.nonstopay, .callback, .failed): return ProviderOutcome(status: "invoice:failed", type: .paymentFailed)
        case (.nonstopay, .callback, .pending): return ProviderOutcome(status: "invoice:pending", type: .paymentPending)
        case (.nonstopay, .callback, .cancelled): return ProviderOutcome(status: "invoice:canceled", type: .paymentCancelled)
        case (.nonstopay, .callback, .refunded): return ProviderOutcome(status: "invoice:refunded", type: .refundSucceeded)
        // NonStoPay's four return URLs.
        case (.nonstopay, .redirect, .succeeded): return ProviderOutcome(status: "success", type: .paymentSucceeded)
        case (.nonstopay, .redirect, .failed): return ProviderOutcome(status: "failure", type: .paymentFailed)
        case (.nonstopay, .redirect, .pending): return ProviderOutcome(status: "pending", type: .paymentPending)
        case (.nonstopay, .redirect, .cancelled): return ProviderOutcome(status: "cancel", type: .paymentCancelled)
        case (.nonstopay, .redirect, .refunded): return nil
        case (_, .statusCheck, _): return nil
        }
    }
}

/// A provider's own words for one scenario, and the event type they map to.
struct ProviderOutcome: Sendable, Hashable {
    var event: String?
    var status: String
    var statusID: String?
    var type: EventType

    init(event: String? = nil, status: String, statusID: String? = nil, type: EventType) {
        self.event = event
        self.status = status
        self.statusID = statusID
        self.type = type
    }
}
