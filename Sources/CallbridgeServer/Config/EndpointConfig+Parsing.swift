import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel

/// Reading `endpoints:` entries of callbridge.yaml into `EndpointConfig` values.
extension EndpointConfig {
    static let keys: Set<String> = [
        "name", "url", "secret", "secrets", "events", "providers", "include_unverified", "timeout", "retry_schedule", "max_in_flight",
        "headers", "client_cert", "client_key", "proxy", "order_events", "ordering",
    ]

    static func parse(_ node: ConfigNode, secrets source: SecretSource, requireSecrets: Bool) throws(ConfigError) -> EndpointConfig {
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
                guard let value = try CallbridgeConfig.resolveSecret(item, secrets: source, required: requireSecrets) else { continue }
                // The same check the dispatcher's signer applies, so config and delivery agree.
                guard WebhookSigner(secrets: [value]) != nil else {
                    throw item.error("an endpoint secret must be whsec_ followed by base64 (e.g. generate with `callbridge secret new`)")
                }
                secrets.append(value)
            }
        }
        let hasSecret = try node.optional("secret") != nil
        let hasSecrets = try node.optional("secrets") != nil
        guard hasSecret || hasSecrets, !secrets.isEmpty || !requireSecrets else {
            throw node.error("missing required key 'secret' (a whsec_… signing secret, as ${ENV_VAR} or file:PATH)")
        }

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
        if let policy = try node.optional("order_events") {
            guard let parsed = OrderEventsPolicy(rawValue: try policy.string()) else {
                throw policy.error("order_events is 'forward' (the default: events that advance or conflict with their order) or 'all'")
            }
            endpoint.orderEvents = parsed
        }
        if let ordering = try node.optional("ordering") {
            switch try ordering.string() {
            case "none": endpoint.perOrder = false
            case "per_order": endpoint.perOrder = true
            default: throw ordering.error("ordering is 'none' (the default) or 'per_order'")
            }
        }
        return endpoint
    }
}

