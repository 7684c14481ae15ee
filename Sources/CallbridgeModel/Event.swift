/// A normalized payment event: what internal services receive, wrapped in the
/// Standard Webhooks envelope `{id, type, timestamp, data}` (docs/ARCHITECTURE.md,
/// "The event contract").
///
/// Invariants: `id` never changes across retries, replays or re-normalization;
/// `amount` is a decimal string; `verified == false` whenever
/// `verification == .none`.
public struct Event: Sendable, Hashable {
    public var id: EventID
    public var type: EventType
    /// When Callbridge created the event (the envelope's `timestamp`).
    public var timestamp: Timestamp
    public var data: EventData

    public init(id: EventID, type: EventType, timestamp: Timestamp, data: EventData) {
        self.id = id
        self.type = type
        self.timestamp = timestamp
        self.data = data
    }

    /// The envelope as a JSON value, members in the documented order; absent
    /// optional fields are rendered as `null` so the shape is always the same.
    public var envelope: JSONValue {
        .object([
            ("id", .string(id.rawValue)),
            ("type", .string(type.rawValue)),
            ("timestamp", .string(timestamp.rfc3339)),
            ("data", data.json),
        ])
    }

    /// The exact bytes POSTed to endpoints.
    public var envelopeBytes: [UInt8] { envelope.renderedBytes() }

    /// Reads an envelope produced by `envelope` (or by a compatible writer).
    public init(envelope: JSONValue) throws(EventDecodingError) {
        guard let idText = envelope["id"]?.stringValue, let id = EventID(idText) else { throw .invalid("id") }
        guard let typeText = envelope["type"]?.stringValue, let type = EventType(rawValue: typeText) else { throw .invalid("type") }
        guard let tsText = envelope["timestamp"]?.stringValue, let ts = Timestamp(rfc3339: tsText) else { throw .invalid("timestamp") }
        guard let dataValue = envelope["data"] else { throw .invalid("data") }
        self.init(id: id, type: type, timestamp: ts, data: try EventData(json: dataValue))
    }

    public init(envelopeBytes: [UInt8]) throws(EventDecodingError) {
        let value: JSONValue
        do { value = try JSONParser().parse(envelopeBytes) } catch { throw .invalid("envelope JSON: \(error)") }
        try self.init(envelope: value)
    }
}

/// Why a stored envelope could not be read back.
public enum EventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let field): return "invalid or missing event field: \(field)"
        }
    }
}

/// The `data` member of the envelope: where the event came from and what it says.
public struct EventData: Sendable, Hashable {
    public var provider: String
    public var route: String
    public var channel: Channel
    public var verified: Bool
    public var verification: VerificationMethod
    public var orderID: String?
    public var transactionID: String?
    public var providerEventID: String?
    public var providerStatus: String?
    /// For a refund event, the refund's amount; otherwise the payment's.
    public var amount: DecimalAmount?
    public var currency: CurrencyCode?
    /// The provider's id of the refund a refund event is about (Juspay `unique_request_id`).
    public var refundID: String?
    /// The order's own amount, beside a refund's `amount` (null when the provider does not send it).
    public var orderAmount: DecimalAmount?
    public var customer: String?
    public var merchantData: JSONValue?
    public var occurredAt: Timestamp?
    public var receivedAt: Timestamp
    /// Where the event sits in its order's story (`data.order`); set by the
    /// log when it commits the event, nil for an event without an order id.
    public var order: OrderPlacement?

    public init(
        provider: String, route: String, channel: Channel, verified: Bool, verification: VerificationMethod,
        orderID: String? = nil, transactionID: String? = nil, providerEventID: String? = nil, providerStatus: String? = nil,
        amount: DecimalAmount? = nil, currency: CurrencyCode? = nil, customer: String? = nil, merchantData: JSONValue? = nil,
        occurredAt: Timestamp? = nil, receivedAt: Timestamp, refundID: String? = nil, orderAmount: DecimalAmount? = nil
    ) {
        self.refundID = refundID
        self.orderAmount = orderAmount
        self.provider = provider
        self.route = route
        self.channel = channel
        self.verified = verified
        self.verification = verification
        self.orderID = orderID
        self.transactionID = transactionID
        self.providerEventID = providerEventID
        self.providerStatus = providerStatus
        self.amount = amount
        self.currency = currency
        self.customer = customer
        self.merchantData = merchantData
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
    }

    public var json: JSONValue {
        func str(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        return .object([
            ("provider", .string(provider)),
            ("route", .string(route)),
            ("channel", .string(channel.rawValue)),
            ("verified", .bool(verified)),
            ("verification", .string(verification.rawValue)),
            ("order_id", str(orderID)),
            ("transaction_id", str(transactionID)),
            ("provider_event_id", str(providerEventID)),
            ("provider_status", str(providerStatus)),
            ("amount", str(amount?.text)),
            ("currency", str(currency?.code)),
            ("refund_id", str(refundID)),
            ("order_amount", str(orderAmount?.text)),
            ("customer", str(customer)),
            ("merchant_data", merchantData ?? .null),
            ("occurred_at", str(occurredAt?.rfc3339)),
            ("received_at", .string(receivedAt.rfc3339)),
            ("order", order?.json ?? .null),
        ])
    }

    public init(json: JSONValue) throws(EventDecodingError) {
        let optional = JSONMemberReader(json: json, prefix: "data").text
        guard let provider = json["provider"]?.stringValue else { throw .invalid("data.provider") }
        guard let route = json["route"]?.stringValue else { throw .invalid("data.route") }
        guard let channelText = json["channel"]?.stringValue, let channel = Channel(rawValue: channelText) else { throw .invalid("data.channel") }
        guard case .bool(let verified)? = json["verified"] else { throw .invalid("data.verified") }
        guard let vText = json["verification"]?.stringValue, let verification = VerificationMethod(rawValue: vText) else {
            throw .invalid("data.verification")
        }
        guard let receivedText = json["received_at"]?.stringValue, let receivedAt = Timestamp(rfc3339: receivedText) else {
            throw .invalid("data.received_at")
        }
        var amount: DecimalAmount?
        if let a = try optional("amount") {
            guard let parsed = DecimalAmount(a) else { throw .invalid("data.amount") }
            amount = parsed
        }
        var orderAmount: DecimalAmount?
        if let a = try optional("order_amount") {
            guard let parsed = DecimalAmount(a) else { throw .invalid("data.order_amount") }
            orderAmount = parsed
        }
        var currency: CurrencyCode?
        if let c = try optional("currency") {
            guard let parsed = CurrencyCode(c) else { throw .invalid("data.currency") }
            currency = parsed
        }
        var occurredAt: Timestamp?
        if let o = try optional("occurred_at") {
            guard let parsed = Timestamp(rfc3339: o) else { throw .invalid("data.occurred_at") }
            occurredAt = parsed
        }
        var merchantData: JSONValue?
        if let m = json["merchant_data"], m != .null { merchantData = m }
        var order: OrderPlacement?
        if let o = json["order"], o != .null { order = try OrderPlacement(json: o) }
        self.init(
            provider: provider, route: route, channel: channel, verified: verified, verification: verification,
            orderID: try optional("order_id"), transactionID: try optional("transaction_id"),
            providerEventID: try optional("provider_event_id"), providerStatus: try optional("provider_status"),
            amount: amount, currency: currency, customer: try optional("customer"), merchantData: merchantData,
            occurredAt: occurredAt, receivedAt: receivedAt, refundID: try optional("refund_id"), orderAmount: orderAmount
        )
        self.order = order
    }
}
