import CallbridgeModel
import CallbridgeStore

/// An internal service that receives events (`endpoints:` in callbridge.yaml),
/// and the filter that decides which events it gets.
///
/// Invariants: `name` is non-empty and unique; `url` is http(s); every secret
/// is `whsec_` + base64; `retrySchedule` is non-empty; unverified events match
/// only when `includeUnverified` is true.
public struct EndpointConfig: Sendable, Hashable {
    public var name: String
    public var url: String
    /// `whsec_…` signing secrets; the first signs, all sign during rotation.
    public var secrets: [String]
    /// Event type globs such as `payment.*`; empty means every type.
    public var eventTypes: [String]
    /// Provider names; empty means every provider.
    public var providers: [String]
    public var includeUnverified: Bool
    public var timeout: ConfigDuration
    public var retrySchedule: [ConfigDuration]
    public var maxInFlight: Int
    public var headers: [String: String]
    public var clientCertificate: String?
    public var clientKey: String?
    public var proxy: String?
    /// Which of an order's events it receives (`order_events:`): forward progress by default.
    public var orderEvents: OrderEventsPolicy = .forward
    /// `ordering: per_order`: one order's deliveries go out one at a time, in commit order.
    public var perOrder: Bool = false

    public static let defaultRetrySchedule: [ConfigDuration] = ["0s", "5s", "5m", "30m", "2h", "5h", "10h", "10h"].compactMap(ConfigDuration.init(parsing:))

    public init(
        name: String, url: String, secrets: [String], eventTypes: [String] = [], providers: [String] = [], includeUnverified: Bool = false,
        timeout: ConfigDuration = .seconds(15), retrySchedule: [ConfigDuration] = EndpointConfig.defaultRetrySchedule, maxInFlight: Int = 32,
        headers: [String: String] = [:], clientCertificate: String? = nil, clientKey: String? = nil, proxy: String? = nil
    ) {
        self.name = name
        self.url = url
        self.secrets = secrets
        self.eventTypes = eventTypes
        self.providers = providers
        self.includeUnverified = includeUnverified
        self.timeout = timeout
        self.retrySchedule = retrySchedule
        self.maxInFlight = maxInFlight
        self.headers = headers
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.proxy = proxy
    }

    /// How the log places this endpoint's deliveries (order rules applied at commit).
    public var deliveryTarget: DeliveryTarget {
        DeliveryTarget(endpoint: name, orderEvents: orderEvents, perOrder: perOrder)
    }

    /// Whether `event` should be delivered to this endpoint (type, provider
    /// and verification filters; the order rules are applied by the log).
    public func accepts(_ event: Event) -> Bool {
        if !event.data.verified && !includeUnverified { return false }
        if !providers.isEmpty && !providers.contains(event.data.provider) { return false }
        if !eventTypes.isEmpty && !eventTypes.contains(where: { EndpointConfig.glob($0, matches: event.type.rawValue) }) { return false }
        return true
    }

    /// `*` matches any run of characters (`payment.*`, `*.failed`, `*`).
    public static func glob(_ pattern: String, matches text: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return pattern == text }
        var rest = Substring(text)
        guard rest.hasPrefix(parts[0]) else { return false }
        rest = rest.dropFirst(parts[0].count)
        for (index, part) in parts.enumerated().dropFirst() {
            if index == parts.count - 1 { return part.isEmpty || rest.hasSuffix(part) }
            guard let range = rest.range(of: part) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }
}
