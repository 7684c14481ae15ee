import CallbridgeModel

/// One provider endpoint Callbridge listens on, loaded from a handler file:
/// where it is, how it is verified, where each event field lives and how the
/// provider's statuses map to event types.
///
/// Invariants: `methods` is non-empty and uppercased; a `.redirect` route has
/// a landing template; verifiers run in order and all must pass.
public struct Route: Sendable {
    public var provider: String
    public var name: String
    public var pattern: RoutePattern
    public var methods: Set<String>
    public var channel: Channel
    public var format: BodyFormat
    public var verifiers: [any Verifier]
    /// Each field's sources, tried in order; the first that yields a value wins.
    public var fields: [EventField: [FieldSource]]
    public var merchantData: MerchantDataSpec?
    public var typeMapping: TypeMapping
    /// Joined with `:` into the dedup key; empty means no dedup. Each part is
    /// a list of sources tried in order (one payload shape or another).
    public var dedup: [[FieldSource]]
    public var landing: LandingTemplate?
    /// Header names (lowercased) whose values are replaced before storage
    /// (credentials, signatures), in addition to the always-redacted ones.
    public var secretHeaders: Set<String>
    /// Secret references that did not resolve when the route was loaded.
    public var unresolvedSecrets: [String]
    /// Per event type, field sources that replace `fields` for that field
    /// (`fields_for:`; Juspay refunds read the matching `refunds[]` entry).
    public var typeFields: [EventType: [EventField: [FieldSource]]] = [:]
    /// Extracted text equal to one of these counts as absent (`absent_values:`,
    /// Juspay's `"FILTERED"`): the next source is tried.
    public var absentValues: Set<String> = []
    /// Requests refused after verification, before anything is stored (`refuse:`).
    public var refusals: [Refusal] = []

    public init(
        provider: String, name: String, pattern: RoutePattern, methods: Set<String>, channel: Channel, format: BodyFormat,
        verifiers: [any Verifier], fields: [EventField: [FieldSource]], merchantData: MerchantDataSpec?, typeMapping: TypeMapping,
        dedup: [[FieldSource]], landing: LandingTemplate?, secretHeaders: Set<String> = [], unresolvedSecrets: [String] = []
    ) {
        self.provider = provider
        self.name = name
        self.pattern = pattern
        self.methods = methods
        self.channel = channel
        self.format = format
        self.verifiers = verifiers
        self.fields = fields
        self.merchantData = merchantData
        self.typeMapping = typeMapping
        self.dedup = dedup
        self.landing = landing
        self.secretHeaders = secretHeaders
        self.unresolvedSecrets = unresolvedSecrets
    }

    /// `provider/route`, as used in logs and metrics.
    public var qualifiedName: String { "\(provider)/\(name)" }
}

/// How a route's request carries its data.
public enum BodyFormat: String, Sendable, Hashable, CaseIterable {
    /// A JSON body (`application/json` or `+json`).
    case json
    /// An `application/x-www-form-urlencoded` body.
    case form
    /// Query parameters (GET) and/or a form body (POST): browser returns.
    case params
}

/// A kind of request a route refuses with a clear error instead of storing
/// it (Juspay's JWT webhooks, whose body is an encrypted token): when `when`
/// yields a value, the request gets `status` `{"error": code, "detail": detail}`.
public struct Refusal: Sendable, Hashable {
    public var when: FieldSource
    public var status: Int
    public var code: String
    public var detail: String
    public init(when: FieldSource, status: Int, code: String, detail: String) {
        self.when = when
        self.status = status
        self.code = code
        self.detail = detail
    }
}

/// The event fields a handler can extract.
public enum EventField: String, Sendable, Hashable, CaseIterable {
    case orderID = "order_id"
    case transactionID = "transaction_id"
    case providerEventID = "provider_event_id"
    case providerStatus = "provider_status"
    case amount
    case currency
    case customer
    case occurredAt = "occurred_at"
    case refundID = "refund_id"
    case orderAmount = "order_amount"

}

/// Where `merchant_data` comes from: one source (parsed as JSON when it is a
/// JSON string, like NonStoPay's `callbackJson`) or named sources collected
/// into an object (Juspay's `udf1…udf10`, empty ones left out).
public enum MerchantDataSpec: Sendable, Hashable {
    /// One source, or several tried in order (the first with a value wins).
    case single([FieldSource])
    case object([String: FieldSource])
}

/// Maps a provider's status to an event type. The first source that yields a
/// value decides; a value missing from `map` gives `unmapped` (kept, never
/// dropped). Lookup ignores case.
public struct TypeMapping: Sendable, Hashable {
    public var sources: [FieldSource]
    public var map: [String: EventType]
    /// Values (lowercased) mapped to `next`: the next source decides (Juspay's
    /// `ORDER_UPDATED` says only that something changed; the order status says what).
    public var deferred: Set<String>

    /// The map value that defers to the next source.
    public static let next = "next"

    public init(sources: [FieldSource], map: [String: EventType], deferred: Set<String> = []) {
        self.sources = sources
        self.map = Dictionary(map.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.deferred = Set(deferred.map { $0.lowercased() })
    }

    public func type(for request: InboundRequest) -> EventType {
        for source in sources {
            if let value = source.text(from: request) {
                let key = value.lowercased()
                if deferred.contains(key) { continue }
                return map[key] ?? .unmapped
            }
        }
        return .unmapped
    }
}

/// A route path such as `/nonstopay/return/{outcome}`; `{name}` segments
/// capture a parameter, optionally restricted to a set of values.
public struct RoutePattern: Sendable, Hashable, CustomStringConvertible {
    public enum Segment: Sendable, Hashable {
        case literal(String)
        case parameter(name: String, allowed: Set<String>?)
    }

    public var segments: [Segment]
    public var text: String

    public init(_ text: String, allowed: [String: Set<String>] = [:]) {
        self.text = text
        self.segments = text.split(separator: "/").map { part in
            if part.hasPrefix("{"), part.hasSuffix("}") {
                let name = String(part.dropFirst().dropLast())
                return .parameter(name: name, allowed: allowed[name])
            }
            return .literal(String(part))
        }
    }

    /// The captured parameters when `path` matches, else nil.
    public func match(_ path: String) -> [String: String]? {
        match(parts: path.split(separator: "/", omittingEmptySubsequences: true))
    }

    /// `match(_:)` on a path already split on "/" (empty segments dropped).
    func match(parts: [Substring]) -> [String: String]? {
        guard parts.count == segments.count else { return nil }
        var captured: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal):
                guard literal == part else { return nil }
            case .parameter(let name, let allowed):
                guard let value = FormURLEncoding.decode(part, plusAsSpace: false) else { return nil }
                if let allowed, !allowed.contains(value) { return nil }
                captured[name] = value
            }
        }
        return captured
    }

    public var description: String { text }
}

/// A landing page URL template for browser returns, e.g.
/// `https://shop.example.com/checkout/{order_id}?result={outcome}`.
/// Placeholders are `{order_id}`, `{outcome}` and `{event_id}`, each filled
/// percent-encoded; nothing else from the request ever reaches the URL.
///
/// An order id `.` or `..` in the template's path renders empty: browsers
/// resolve a dot segment even percent-encoded (`%2E%2E`), so no encoding of
/// it can stay a segment, and the buyer must never be sent up the shop's path.
public struct LandingTemplate: Sendable, Hashable, CustomStringConvertible {
    public static let placeholders: Set<String> = ["order_id", "outcome", "event_id"]
    public var template: String

    public init(_ template: String) {
        self.template = template
    }

    public func render(orderID: String?, outcome: ReturnOutcome, eventID: EventID?) -> String {
        FormURLEncoding.fill(template, [("order_id", orderID ?? ""), ("outcome", outcome.rawValue), ("event_id", eventID?.rawValue ?? "")],
                             pathSegment: { FormURLEncoding.isDotSegment($0) ? "" : FormURLEncoding.encodeComponent($0) })
    }

    /// Placeholder names used in the template that are not supported.
    public var unknownPlaceholders: [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            let name = String(rest[rest.index(after: open)..<close])
            if !LandingTemplate.placeholders.contains(name) { names.append(name) }
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    public var description: String { template }
}
