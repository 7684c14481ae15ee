import CallbridgeModel

/// A provider's order-status API (`status_api:` in a handler file): how to
/// ask it about one order, when to ask, and how its answer becomes an event
/// (the same field sources and status mapping as any route, read from the
/// answer's JSON). Data only: the server makes the call through libcurl.
///
/// Invariants: `urlTemplate` is http(s) and names `{order_id}` and/or
/// `{transaction_id}` (the only placeholders); every credential and header
/// resolved at load time (a provider whose references do not resolve has no
/// spec at all); `route.channel == .statusCheck`, `route.format == .json`.
public struct StatusAPISpec: Sendable {
    public var provider: String
    /// E.g. `https://api.juspay.in/orders/{order_id}`.
    public var urlTemplate: String
    /// Credentials and fixed headers, names lowercased, in file order.
    public var headers: [HeaderField]
    public var timeout: ConfigDuration
    /// Whether every browser return asks for a check (default true).
    public var afterReturns: Bool
    /// Waits between checks of an order that still awaits payment, in milliseconds.
    public var poll: [Int64]
    /// Reads the answer: fields, type mapping, dedup, masking.
    public var route: Route

    /// The route name status-check events carry (`data.route`).
    public static let routeName = "status_check"

    public init(provider: String, urlTemplate: String, headers: [HeaderField], timeout: ConfigDuration, afterReturns: Bool, poll: [Int64], route: Route) {
        self.provider = provider
        self.urlTemplate = urlTemplate
        self.headers = headers
        self.timeout = timeout
        self.afterReturns = afterReturns
        self.poll = poll
        self.route = route
    }

    /// Whether the URL needs the provider's own id (`{transaction_id}`).
    public var needsTransactionID: Bool { urlTemplate.contains("{transaction_id}") }
    public var needsOrderID: Bool { urlTemplate.contains("{order_id}") }

    /// The URL for one order, each value percent-encoded as one path segment
    /// or one query value (`.` and `..` too), so no id can change the path,
    /// host or query the request goes to. Nil when a value the template
    /// needs is missing.
    public func url(orderID: String, transactionID: String?) -> String? {
        var values: [(placeholder: String, value: String)] = [("order_id", orderID)]
        if needsTransactionID {
            guard let transactionID, !transactionID.isEmpty else { return nil }
            values.append(("transaction_id", transactionID))
        }
        return FormURLEncoding.fill(urlTemplate, values)
    }

    /// Why an answer is not the order's status.
    public struct AnswerError: Error, Sendable, Hashable, CustomStringConvertible {
        /// False when asking again cannot help (the answer names another order, or has no status).
        public var retryable: Bool
        public var description: String
    }

    /// Turns a 2xx answer into a verified `status_check` event for the order
    /// asked about. The stored raw record is the answer: the call's method,
    /// path and query, the answer's headers (secrets redacted) and its body.
    /// The answer must carry a status; an order or transaction id it carries
    /// must be the one asked about (one it does not carry is taken from the
    /// question).
    public func answer(url: String, headers: [HeaderField], body: [UInt8], orderID: String, transactionID: String?,
                       eventID: EventID, now: Timestamp) -> Result<NormalizedRequest, AnswerError> {
        let (path, query) = StatusAPISpec.pathAndQuery(of: url)
        let raw = RawRequest(method: "GET", path: path, query: query, headers: headers, body: body, remoteAddress: nil, receivedAt: now)
        var normalized: NormalizedRequest
        do {
            normalized = try Normalizer().normalizeAnswer(route: route, raw: raw, eventID: eventID, now: now)
        } catch {
            return .failure(AnswerError(retryable: true, description: "the answer is not readable: \(error.detail)"))
        }
        guard normalized.event.data.providerStatus != nil else {
            return .failure(AnswerError(retryable: false, description: "the answer carries no status (an error answer?)"))
        }
        if let said = normalized.event.data.orderID, said != orderID {
            return .failure(AnswerError(retryable: false, description: "the answer is about another order"))
        }
        normalized.event.data.orderID = orderID
        if needsTransactionID, let transactionID {
            if let said = normalized.event.data.transactionID, said != transactionID {
                return .failure(AnswerError(retryable: false, description: "the answer is about another transaction"))
            }
            normalized.event.data.transactionID = transactionID
        }
        if normalized.dedupKey != nil {
            // Scoped to the order: two orders never share an answer.
            normalized.dedupKey = StatusAPISpec.routeName + ":" + orderID + ":" + (normalized.dedupKey ?? "")
        }
        return .success(normalized)
    }

    /// The path (from the first `/` after the authority) and the query of an absolute URL.
    static func pathAndQuery(of url: String) -> (String, String) {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        let pathStart = rest.firstIndex(of: "/") ?? rest.endIndex
        var target = rest[pathStart...]
        if let hash = target.firstIndex(of: "#") { target = target[..<hash] }
        guard let q = target.firstIndex(of: "?") else { return (target.isEmpty ? "/" : String(target), "") }
        return (String(target[..<q]), String(target[target.index(after: q)...]))
    }
}
