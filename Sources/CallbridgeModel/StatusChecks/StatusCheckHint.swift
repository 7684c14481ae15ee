/// A return that asked for a status check, as the check compares it with the
/// provider's answer: what the browser said (type, amount, currency).
///
/// Invariant: `verdict` is nil until a check answered it (or a run ended
/// without an answer); once set it is never changed.
public struct StatusCheckHint: Sendable, Hashable {
    public var eventID: EventID
    public var type: EventType
    public var amount: DecimalAmount?
    public var currency: CurrencyCode?
    public var receivedAt: Timestamp
    /// The status-check event that answered it (the one stored, or the
    /// earlier identical answer it duplicates).
    public var answeredBy: EventID?
    public var verdict: StatusCheckVerdict?

    public init(eventID: EventID, type: EventType, amount: DecimalAmount?, currency: CurrencyCode?, receivedAt: Timestamp,
                answeredBy: EventID? = nil, verdict: StatusCheckVerdict? = nil) {
        self.eventID = eventID
        self.type = type
        self.amount = amount
        self.currency = currency
        self.receivedAt = receivedAt
        self.answeredBy = answeredBy
        self.verdict = verdict
    }

    /// The hint a return event leaves.
    public init(_ event: Event) {
        self.init(eventID: event.id, type: event.type, amount: event.data.amount, currency: event.data.currency, receivedAt: event.data.receivedAt)
    }
}

/// Whether the provider's answer agrees with a return.
public enum StatusCheckVerdict: Sendable, Hashable {
    /// Same event type, and the same amount and currency where both say one.
    case confirmed
    /// The answer says otherwise: each difference, in words.
    case differs([String])
    /// No answer came (the run failed or gave up): why.
    case unanswered(String)

    /// Compares a return with the provider's answer. An amount or currency
    /// only one side states is not a difference (returns rarely carry one).
    public static func compare(_ hint: StatusCheckHint, with answer: Event) -> StatusCheckVerdict {
        var differences: [String] = []
        if hint.type != answer.type {
            let word = answer.data.providerStatus.map { " (\($0))" } ?? ""
            differences.append("the provider says \(answer.type.rawValue)\(word), the return said \(hint.type.rawValue)")
        }
        if let said = hint.amount, let truth = answer.data.amount, !said.isEqualInValue(to: truth) {
            differences.append("the provider says amount \(truth.text), the return said \(said.text)")
        }
        if let said = hint.currency, let truth = answer.data.currency, said != truth {
            differences.append("the provider says currency \(truth.code), the return said \(said.code)")
        }
        return differences.isEmpty ? .confirmed : .differs(differences)
    }

    /// `confirmed`, `differs` or `unanswered`: the metric label and the stored kind.
    public var label: String {
        switch self {
        case .confirmed: return "confirmed"
        case .differs: return "differs"
        case .unanswered: return "unanswered"
        }
    }

    /// The words stored beside the label (nil when confirmed).
    public var detail: String? {
        switch self {
        case .confirmed: return nil
        case .differs(let list): return list.joined(separator: "; ")
        case .unanswered(let why): return why
        }
    }

    /// Reads back a stored label and detail.
    public init?(label: String, detail: String?) {
        switch label {
        case "confirmed": self = .confirmed
        case "differs": self = .differs(detail.map { $0.split(separator: "; ").map(String.init) } ?? [])
        case "unanswered": self = .unanswered(detail ?? "")
        default: return nil
        }
    }

    public var json: JSONValue {
        .object([("verdict", .string(label)), ("detail", detail.map(JSONValue.string) ?? .null)])
    }
}

extension OrderState {
    /// The order's payment is not settled yet, so asking the provider again
    /// can tell something new: created, pending, authorized.
    public var awaitsPayment: Bool {
        switch self {
        case .created, .pending, .authorized: return true
        default: return false
        }
    }
}
