import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel

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

    /// Whether `event` should be delivered to this endpoint.
    public func accepts(_ event: Event) -> Bool {
        if !event.data.verified && !includeUnverified { return false }
        if !providers.isEmpty && !providers.contains(event.data.provider) { return false }
        if !eventTypes.isEmpty && !eventTypes.contains(where: { EndpointConfig.glob($0, matches: event.type.rawValue) }) { return false }
        return true
    }

    /// `*` matches any run of characters (`payment.*`, `*.failed`, `*`).
    static func glob(_ pattern: String, matches text: String) -> Bool {
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

    static let keys: Set<String> = [
        "name", "url", "secret", "secrets", "events", "providers", "include_unverified", "timeout", "retry_schedule", "max_in_flight",
        "headers", "client_cert", "client_key", "proxy",
    ]

    static func parse(_ node: ConfigNode, secrets source: SecretSource) throws(ConfigError) -> EndpointConfig {
        try node.rejectUnknownKeys(keys)
        let nameNode = try node.required("name")
        let name = try nameNode.string()
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw nameNode.error("endpoint names use letters, digits, '-', '_' or '.'")
        }
        let urlNode = try node.required("url")
        let url = try urlNode.string()
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw urlNode.error("url must start with http:// or https://") }

        var secrets: [String] = []
        for key in ["secret", "secrets"] {
            guard let secretNode = try node.optional(key) else { continue }
            let list = (try? secretNode.elements()) ?? [secretNode]
            for item in list {
                let value = try CallbridgeConfig.resolveSecret(item, secrets: source)
                guard value.hasPrefix("whsec_"), let key = ByteEncoding.fromBase64(String(value.dropFirst(6))), !key.isEmpty else {
                    throw item.error("an endpoint secret must be whsec_ followed by base64 (e.g. generate with `callbridge secret new`)")
                }
                secrets.append(value)
            }
        }
        guard !secrets.isEmpty else { throw node.error("missing required key 'secret' (a whsec_… signing secret, as ${ENV_VAR} or file:PATH)") }

        var endpoint = EndpointConfig(name: name, url: url, secrets: secrets)
        if let events = try node.optional("events") {
            endpoint.eventTypes = try events.strings()
            for pattern in endpoint.eventTypes where !pattern.contains("*") && EventType(rawValue: pattern) == nil {
                throw events.error("'\(pattern)' is not an event type or a glob such as payment.*")
            }
        }
        if let providers = try node.optional("providers") { endpoint.providers = try providers.strings() }
        if let flag = try node.optional("include_unverified") { endpoint.includeUnverified = try flag.bool() }
        if let timeout = try node.optional("timeout") {
            endpoint.timeout = try timeout.duration()
            guard endpoint.timeout.milliseconds > 0 else { throw timeout.error("timeout must be positive") }
        }
        if let schedule = try node.optional("retry_schedule") {
            endpoint.retrySchedule = try schedule.elements().map { (n) throws(ConfigError) -> ConfigDuration in try n.duration() }
            guard !endpoint.retrySchedule.isEmpty else { throw schedule.error("at least one attempt is required") }
        }
        if let max = try node.optional("max_in_flight") { endpoint.maxInFlight = try max.int(in: 1...10_000) }
        if let headers = try node.optional("headers") {
            for (key, value) in try headers.members() { endpoint.headers[key] = try value.string() }
        }
        endpoint.clientCertificate = try node.optional("client_cert")?.string()
        endpoint.clientKey = try node.optional("client_key")?.string()
        endpoint.proxy = try node.optional("proxy")?.string()
        return endpoint
    }
}

