import CallbridgeModel

/// How to confirm an unsigned browser return against the provider's own API
/// (`confirm:` in a handler file; Luxfin documents no return signature).
/// Data only: the server performs the fetch through the libcurl transport.
///
/// Invariants: `urlTemplate` is http(s) with only `{order_id}` as placeholder;
/// credentials were resolved from secret references at load time; at least
/// the order id and the status are compared.
public struct ConfirmationSpec: Sendable, Hashable {
    /// E.g. `https://api.luxfin.example/v1/orders/{order_id}`.
    public var urlTemplate: String
    /// Headers carrying the credentials (e.g. `authorization: Bearer …`).
    public var headers: [String: String]
    public var timeout: ConfigDuration
    /// Where the order id, status and amount are in the API's JSON answer.
    public var orderIDPath: String
    public var statusPath: String
    public var amountPath: String?

    public init(urlTemplate: String, headers: [String: String], timeout: ConfigDuration, orderIDPath: String, statusPath: String, amountPath: String?) {
        self.urlTemplate = urlTemplate
        self.headers = headers
        self.timeout = timeout
        self.orderIDPath = orderIDPath
        self.statusPath = statusPath
        self.amountPath = amountPath
    }

    /// The URL for one order, with the id percent-encoded as one path
    /// segment or one query value (`.` and `..` too), so no order id can
    /// change the path, host or query the request goes to.
    public func url(orderID: String) -> String {
        FormURLEncoding.fill(urlTemplate, [("order_id", orderID)])
    }

    /// Whether the API's answer confirms `event`: same order id, a status
    /// that maps (through `mapping`) to the same event type, and the same
    /// amount when both sides have one. Returns the reason when it does not.
    public func check(_ answer: JSONValue, against event: Event, mapping: TypeMapping) -> ConfirmationVerdict {
        guard let orderID = answer.value(atPath: orderIDPath)?.scalarText else { return .mismatch("the answer has no order id at \(orderIDPath)") }
        guard orderID == event.data.orderID else { return .mismatch("order id differs") }
        guard let status = answer.value(atPath: statusPath)?.scalarText else { return .mismatch("the answer has no status at \(statusPath)") }
        let confirmedType = mapping.map[status.lowercased()] ?? .unmapped
        guard confirmedType == event.type else {
            return .mismatch("the provider says \(status) (\(confirmedType.rawValue)), the return said \(event.type.rawValue)")
        }
        if let amountPath, let expected = event.data.amount {
            guard let text = answer.value(atPath: amountPath)?.scalarText, let amount = DecimalAmount(text) else {
                return .mismatch("the answer has no amount at \(amountPath)")
            }
            guard DecimalAmount.sameValue(amount, expected) else { return .mismatch("amount differs") }
        }
        return .confirmed
    }
}

/// The outcome of comparing a provider's API answer with a return.
public enum ConfirmationVerdict: Sendable, Hashable {
    case confirmed
    case mismatch(String)
}

extension DecimalAmount {
    /// Numeric equality of two decimal strings (`25.5` equals `25.50`), without floating point.
    public static func sameValue(_ a: DecimalAmount, _ b: DecimalAmount) -> Bool {
        func parts(_ text: String) -> (negative: Bool, whole: String, fraction: String) {
            var t = Substring(text)
            let negative = t.first == "-"
            if negative { t = t.dropFirst() }
            let split = t.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let whole = String(split[0].drop(while: { $0 == "0" }))
            var fraction = split.count > 1 ? String(split[1]) : ""
            while fraction.hasSuffix("0") { fraction.removeLast() }
            return (negative && !(whole.isEmpty && fraction.isEmpty), whole, fraction)
        }
        let x = parts(a.text)
        let y = parts(b.text)
        return x.negative == y.negative && x.whole == y.whole && x.fraction == y.fraction
    }
}
