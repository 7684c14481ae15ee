import CallbridgeCrypto
import CallbridgeModel

/// Reads one `handlers/*.yaml` file into routes. Strict: unknown keys, unknown
/// verifiers, unknown event types, malformed field sources and literal secrets
/// are errors naming the file, line and key.
public struct HandlerFileLoader {
    public var secrets: SecretSource

    public init(secrets: SecretSource) {
        self.secrets = secrets
    }

    /// The routes of one provider, and the secret references that did not resolve.
    public func load(yaml: String, file: String) throws(ConfigError) -> ProviderHandler {
        let root = try ConfigNode.parse(yaml: yaml, file: file)
        try root.rejectUnknownKeys(["provider", "description", "routes", "status_api"])
        let providerNode = try root.required("provider")
        let provider = try providerNode.string()
        guard !provider.isEmpty, provider.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw providerNode.error("provider must be lowercase letters, digits, '-' or '_'")
        }
        let description = try root.optional("description")?.string()
        var routes: [Route] = []
        for node in try root.required("routes").elements() {
            let route = try loadRoute(node, provider: provider)
            if routes.contains(where: { $0.name == route.name }) {
                throw node.error("route name '\(route.name)' is used twice in this file")
            }
            routes.append(route)
        }
        guard !routes.isEmpty else { throw root.error("routes: at least one route is required") }
        var handler = ProviderHandler(provider: provider, description: description, file: file, routes: routes)
        if let statusNode = try root.optional("status_api") {
            (handler.statusAPI, handler.statusAPIUnresolved) = try loadStatusAPI(statusNode, provider: provider)
        }
        return handler
    }

    static let routeKeys: Set<String> = [
        "name", "path", "methods", "channel", "format", "verify", "fields", "merchant_data", "type", "dedup", "landing",
        "path_values", "secret_headers", "fields_for", "absent_values", "refuse",
    ]

    func loadRoute(_ node: ConfigNode, provider: String) throws(ConfigError) -> Route {
        if let old = try node.optional("confirm") {
            throw old.error("a route's confirm: was replaced by the provider-level status_api: block (see README, \"Status checks\")")
        }
        try node.rejectUnknownKeys(HandlerFileLoader.routeKeys)
        let name = try node.required("name").string()
        let pathNode = try node.required("path")
        let path = try pathNode.string()
        guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#") else {
            throw pathNode.error("path must start with '/' and have no query or fragment")
        }
        var allowedValues: [String: Set<String>] = [:]
        if let values = try node.optional("path_values") {
            for (key, list) in try values.members() { allowedValues[key] = Set(try list.strings()) }
        }
        let pattern = RoutePattern(path, allowed: allowedValues)
        let parameterNames = pattern.segments.compactMap { segment -> String? in
            if case .parameter(let name, _) = segment { return name }
            return nil
        }
        for key in allowedValues.keys where !parameterNames.contains(key) {
            throw pathNode.error("path_values names '{\(key)}', which is not a segment of the path")
        }

        let methodsNode = try node.required("methods")
        let methods = Set(try methodsNode.strings().map { $0.uppercased() })
        for method in methods where !["GET", "POST", "PUT", "PATCH"].contains(method) {
            throw methodsNode.error("method '\(method)' is not supported (GET, POST, PUT, PATCH)")
        }
        guard !methods.isEmpty else { throw methodsNode.error("at least one method is required") }
        let channel = try node.required("channel").oneOf(Channel.self, Channel.allCases)
        let format = try node.required("format").oneOf(BodyFormat.self, BodyFormat.allCases)

        var unresolved: [String] = []
        var secretHeaders: Set<String> = []
        var verifiers: [any Verifier] = []
        if let verifyNode = try node.optional("verify") {
            let entries = (try? verifyNode.elements()) ?? [verifyNode]
            for entry in entries {
                guard try verifierEnabled(entry) else { continue }
                verifiers.append(try loadVerifier(entry, unresolved: &unresolved, secretHeaders: &secretHeaders))
            }
        }
        guard !verifiers.isEmpty else {
            throw node.error("'verify' is required: name a verifier, or 'type: none' for unsigned browser returns")
        }
        if channel == .callback, verifiers.contains(where: { $0 is NoVerification }) {
            throw node.error("a callback route must be verified; 'none' is allowed only on redirect routes")
        }

        let extraction = try loadExtraction(node, parameters: parameterNames)
        var refusals: [Refusal] = []
        if let refuseNode = try node.optional("refuse") {
            for entry in try refuseNode.elements() {
                try entry.rejectUnknownKeys(["when", "status", "code", "detail"])
                refusals.append(Refusal(
                    when: try fieldSource(try entry.required("when"), parameters: parameterNames),
                    status: try entry.required("status").int(in: 400...499), code: try entry.required("code").string(),
                    detail: try entry.required("detail").string()
                ))
            }
        }

        var landing: LandingTemplate?
        if let landingNode = try node.optional("landing") {
            let (text, missing) = secrets.interpolate(try landingNode.string())
            guard missing.isEmpty else {
                throw landingNode.error("environment variable \(missing.map { "${\($0)}" }.joined(separator: ", ")) is not set and has no default (write ${NAME:-default})")
            }
            guard text.hasPrefix("https://") || text.hasPrefix("http://") || text.hasPrefix("/") else {
                throw landingNode.error("landing must be an absolute http(s) URL or a path starting with '/'")
            }
            let template = LandingTemplate(text)
            if let unknown = template.unknownPlaceholders.first {
                throw landingNode.error("unknown placeholder '{\(unknown)}' (use {order_id}, {outcome}, {event_id})")
            }
            landing = template
        }
        if channel == .redirect, landing == nil {
            throw node.error("a redirect route needs a 'landing' template for the browser")
        }
        if let extra = try node.optional("secret_headers") {
            secretHeaders.formUnion(try extra.strings().map { $0.lowercased() })
        }

        var route = Route(
            provider: provider, name: name, pattern: pattern, methods: methods, channel: channel, format: format,
            verifiers: verifiers, fields: extraction.fields, merchantData: extraction.merchantData, typeMapping: extraction.typeMapping,
            dedup: extraction.dedup, landing: landing, secretHeaders: secretHeaders, unresolvedSecrets: unresolved
        )
        route.typeFields = extraction.typeFields
        route.absentValues = extraction.absentValues
        route.refusals = refusals
        return route
    }


    /// What a route (or a status API) reads from a request: `fields`,
    /// `fields_for`, `absent_values`, `merchant_data`, `type`, `dedup`.
    struct Extraction {
        var fields: [EventField: [FieldSource]]
        var typeFields: [EventType: [EventField: [FieldSource]]]
        var absentValues: Set<String>
        var merchantData: MerchantDataSpec?
        var typeMapping: TypeMapping
        var dedup: [[FieldSource]]
    }

    func loadExtraction(_ node: ConfigNode, parameters parameterNames: [String]) throws(ConfigError) -> Extraction {
        var fields: [EventField: [FieldSource]] = [:]
        if let fieldsNode = try node.optional("fields") {
            fields = try fieldMap(fieldsNode, parameters: parameterNames)
        }
        var typeFields: [EventType: [EventField: [FieldSource]]] = [:]
        if let byType = try node.optional("fields_for") {
            for (key, value) in try byType.members() {
                guard let type = EventType(rawValue: key) else {
                    throw value.error("'\(key)' is not an event type (expected one of: \(EventType.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                typeFields[type] = try fieldMap(value, parameters: parameterNames)
            }
        }
        let absentValues = Set(try node.optional("absent_values")?.strings() ?? [])
        var merchantData: MerchantDataSpec?
        if let md = try node.optional("merchant_data") {
            if case .mapping = md.node {
                var sources: [String: FieldSource] = [:]
                for (key, value) in try md.members() { sources[key] = try fieldSource(value, parameters: parameterNames) }
                merchantData = .object(sources)
            } else {
                merchantData = .single(try md.elements(orScalar: true).map { (n) throws(ConfigError) -> FieldSource in
                    try fieldSource(n, parameters: parameterNames)
                })
            }
        }

        let typeNode = try node.required("type")
        try typeNode.rejectUnknownKeys(["from", "map"])
        let typeSources = try typeNode.required("from").elements(orScalar: true).map { (n) throws(ConfigError) -> FieldSource in
            try fieldSource(n, parameters: parameterNames)
        }
        var map: [String: EventType] = [:]
        var deferred: Set<String> = []
        for (status, value) in try typeNode.required("map").members() {
            let text = try value.string()
            if text == TypeMapping.next {
                deferred.insert(status)
                continue
            }
            guard let type = EventType(rawValue: text) else {
                throw value.error("'\(text)' is not an event type (expected one of: \(EventType.allCases.map(\.rawValue).joined(separator: ", ")), or next)")
            }
            map[status] = type
        }

        var dedup: [[FieldSource]] = []
        if let dedupNode = try node.optional("dedup") {
            // Each part: one source, or a list tried in order.
            for part in try dedupNode.elements(orScalar: true) {
                dedup.append(try part.elements(orScalar: true).map { (n) throws(ConfigError) -> FieldSource in
                    try fieldSource(n, parameters: parameterNames)
                })
            }
        }

        return Extraction(fields: fields, typeFields: typeFields, absentValues: absentValues, merchantData: merchantData,
                          typeMapping: TypeMapping(sources: typeSources, map: map, deferred: deferred), dedup: dedup)
    }

    /// `field: source` or `field: [source, …]` (tried in order; the first with a value wins).
    func fieldMap(_ node: ConfigNode, parameters: [String]) throws(ConfigError) -> [EventField: [FieldSource]] {
        var fields: [EventField: [FieldSource]] = [:]
        for (key, value) in try node.members() {
            guard let field = EventField(rawValue: key) else {
                throw value.error("unknown event field '\(key)' (expected one of: \(EventField.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            fields[field] = try value.elements(orScalar: true).map { (n) throws(ConfigError) -> FieldSource in
                try fieldSource(n, parameters: parameters)
            }
        }
        return fields
    }

    /// A verifier entry's `enabled:` (default true): `true|false|on|off|yes|no`,
    /// after `${ENV:-default}` interpolation, so an optional check (an IP
    /// allow-list) can be switched by the environment.
    func verifierEnabled(_ node: ConfigNode) throws(ConfigError) -> Bool {
        guard let enabledNode = try node.optional("enabled") else { return true }
        let (text, missing) = secrets.interpolate(try enabledNode.string())
        guard missing.isEmpty else { throw enabledNode.error("environment variable \(missing.map { "${\($0)}" }.joined(separator: ", ")) is not set and has no default") }
        switch text.trimmingSpaces().lowercased() {
        case "true", "on", "yes", "1": return true
        case "false", "off", "no", "0": return false
        default: throw enabledNode.error("'\(text)' is not true or false")
        }
    }

    func fieldSource(_ node: ConfigNode, parameters: [String]) throws(ConfigError) -> FieldSource {
        let text = try node.string()
        guard let source = FieldSource(text) else {
            throw node.error("'\(text)' is not a field source (write kind:argument with kind one of \(FieldSource.kinds.joined(separator: ", ")))")
        }
        if case .path(let name) = source, !parameters.contains(name) {
            throw node.error("'\(text)' names a path parameter the route's path does not have")
        }
        return source
    }

    /// Resolves secret references; literal secrets are refused.
    func secretList(_ node: ConfigNode, unresolved: inout [String]) throws(ConfigError) -> [String] {
        var values: [String] = []
        for text in try node.strings() {
            guard let reference = SecretReference(text) else {
                throw node.error("secrets must be referenced as ${ENV_VAR} or file:PATH, never written in a handler file")
            }
            if let value = secrets.resolve(reference) { values.append(value) } else { unresolved.append(reference.description) }
        }
        return values
    }

    func secretValues(_ node: ConfigNode, keys: [String], unresolved: inout [String]) throws(ConfigError) -> [String] {
        var values: [String] = []
        var found = false
        for key in keys {
            if let child = try node.optional(key) {
                found = true
                values += try secretList(child, unresolved: &unresolved)
            }
        }
        guard found else { throw node.error("missing required key '\(keys[0])'") }
        return values
    }

    func loadVerifier(_ node: ConfigNode, unresolved: inout [String], secretHeaders: inout Set<String>) throws(ConfigError) -> any Verifier {
        let typeNode = try node.required("type")
        let type = try typeNode.string()
        switch type {
        case "none":
            try node.rejectUnknownKeys(["type", "enabled"])
            return NoVerification()
        case "basic_auth":
            try node.rejectUnknownKeys(["type", "enabled", "username", "password", "credentials"])
            var credentials: [BasicAuthVerifier.Credential] = []
            var pairs: [ConfigNode] = []
            if let list = try node.optional("credentials") { pairs = try list.elements() }
            let hasUsername = try node.optional("username") != nil
            let hasPassword = try node.optional("password") != nil
            if hasUsername || hasPassword { pairs.append(node) }
            guard !pairs.isEmpty else { throw node.error("basic_auth needs 'username' and 'password' (or 'credentials')") }
            for pair in pairs {
                let users = try secretList(try pair.required("username"), unresolved: &unresolved)
                let passwords = try secretList(try pair.required("password"), unresolved: &unresolved)
                for user in users { for password in passwords { credentials.append(.init(username: user, password: password)) } }
            }
            return BasicAuthVerifier(credentials: credentials)
        case "api_key":
            try node.rejectUnknownKeys(["type", "enabled", "header", "prefix", "key", "keys"])
            let header = try node.required("header").string().lowercased()
            secretHeaders.insert(header)
            let keys = try secretValues(node, keys: ["keys", "key"], unresolved: &unresolved)
            return APIKeyVerifier(header: header, prefix: try node.optional("prefix")?.string() ?? "", keys: keys)
        case "hmac":
            try node.rejectUnknownKeys(["type", "enabled", "algorithm", "encoding", "header", "param", "prefix", "prefix_optional", "payload", "secret", "secrets",
                                        "timestamp_header", "tolerance"])
            let algorithm = try node.optional("algorithm")?.oneOf(DigestAlgorithm.self, DigestAlgorithm.allCases) ?? .sha256
            let encoding = try node.optional("encoding")?.oneOf(HMACVerifier.Encoding.self, [.hex, .base64]) ?? .hex
            let location: HMACVerifier.Location
            switch (try node.optional("header"), try node.optional("param")) {
            case (let h?, nil):
                let name = try h.string().lowercased()
                secretHeaders.insert(name)
                location = .header(name)
            case (nil, let p?): location = .param(try p.string())
            default: throw node.error("hmac needs exactly one of 'header' or 'param' to find the signature")
            }
            let payload = try node.optional("payload")?.oneOf(HMACVerifier.Payload.self, [.body, .params]) ?? .body
            let keys = try secretValues(node, keys: ["secrets", "secret"], unresolved: &unresolved)
            return HMACVerifier(
                algorithm: algorithm, encoding: encoding, location: location, prefix: try node.optional("prefix")?.string() ?? "",
                prefixOptional: try node.optional("prefix_optional")?.bool() ?? false,
                payload: payload, secrets: keys, timestampHeader: try node.optional("timestamp_header")?.string().lowercased(),
                tolerance: try node.optional("tolerance")?.duration() ?? .seconds(300)
            )
        case "standard_webhooks":
            try node.rejectUnknownKeys(["type", "enabled", "secret", "secrets", "tolerance"])
            let raw = try secretValues(node, keys: ["secrets", "secret"], unresolved: &unresolved)
            var keys: [[UInt8]] = []
            for secret in raw {
                guard let key = StandardWebhooksVerifier.decodeSecret(secret) else {
                    throw node.error("a standard_webhooks secret must be whsec_ followed by base64")
                }
                keys.append(key)
            }
            return StandardWebhooksVerifier(keys: keys, tolerance: try node.optional("tolerance")?.duration() ?? .seconds(300))
        case "ip_allowlist":
            try node.rejectUnknownKeys(["type", "enabled", "networks"])
            let networksNode = try node.required("networks")
            var networks: [IPAllowlistVerifier.Network] = []
            for text in try networksNode.strings() {
                guard let network = IPAllowlistVerifier.Network(text) else { throw networksNode.error("'\(text)' is not an IP address or CIDR block") }
                networks.append(network)
            }
            return IPAllowlistVerifier(networks: networks)
        case "juspay_return":
            try node.rejectUnknownKeys(["type", "enabled", "secret", "secrets"])
            return JuspayReturnVerifier(responseKeys: try secretValues(node, keys: ["secrets", "secret"], unresolved: &unresolved))
        default:
            throw typeNode.error("unknown verifier '\(type)' (expected one of: \(HandlerFileLoader.verifierNames.joined(separator: ", ")))")
        }
    }

    static let statusAPIKeys: Set<String> = [
        "url", "auth", "headers", "timeout", "after_returns", "poll", "fields", "fields_for", "absent_values", "merchant_data", "type", "dedup",
    ]

    /// `status_api: {url, auth: {type: bearer|basic|header, …}, headers, timeout, after_returns, poll, fields, type, dedup, …}`.
    /// Nil spec (with the references that did not resolve) when a credential,
    /// a header or the URL names an unset variable: that provider's returns
    /// stay hints and its orders are not polled.
    func loadStatusAPI(_ node: ConfigNode, provider: String) throws(ConfigError) -> (StatusAPISpec?, unresolved: [String]) {
        try node.rejectUnknownKeys(HandlerFileLoader.statusAPIKeys)
        var unresolved: [String] = []
        let urlNode = try node.required("url")
        let (url, missingInURL) = secrets.interpolate(try urlNode.string())
        unresolved += missingInURL.map { "${\($0)}" }
        if missingInURL.isEmpty {
            guard url.hasPrefix("https://") || url.hasPrefix("http://") else { throw urlNode.error("url must be http(s)") }
            guard url.contains("{order_id}") || url.contains("{transaction_id}") else {
                throw urlNode.error("url must contain {order_id} or {transaction_id}")
            }
            var rest = Substring(url)
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                let name = rest[rest.index(after: open)..<close]
                guard name == "order_id" || name == "transaction_id" else {
                    throw urlNode.error("unknown placeholder '{\(name)}' (use {order_id} or {transaction_id})")
                }
                rest = rest[rest.index(after: close)...]
            }
        }
        var headers: [HeaderField] = []
        if let auth = try node.optional("auth") {
            let type = try auth.required("type").string()
            switch type {
            case "bearer":
                try auth.rejectUnknownKeys(["type", "token"])
                if let token = try secretList(try auth.required("token"), unresolved: &unresolved).first {
                    headers.append(HeaderField(name: "authorization", value: "Bearer \(token)"))
                }
            case "basic":
                // Juspay: the API key is the username and the password is empty (omit `password`).
                try auth.rejectUnknownKeys(["type", "username", "password"])
                let user = try secretList(try auth.required("username"), unresolved: &unresolved).first
                var password: String? = ""
                if let passwordNode = try auth.optional("password") { password = try secretList(passwordNode, unresolved: &unresolved).first }
                if let user, let password {
                    headers.append(HeaderField(name: "authorization", value: "Basic " + ByteEncoding.base64(Array("\(user):\(password)".utf8))))
                }
            case "header":
                try auth.rejectUnknownKeys(["type", "name", "value"])
                let name = try auth.required("name").string().lowercased()
                guard HandlerFileLoader.isHeaderName(name) else { throw try auth.required("name").error("'\(name)' is not a header name") }
                if let value = try secretList(try auth.required("value"), unresolved: &unresolved).first {
                    headers.append(HeaderField(name: name, value: value))
                }
            default:
                throw try auth.required("type").error("unknown auth type '\(type)' (expected bearer, basic or header)")
            }
        }
        if let headersNode = try node.optional("headers") {
            // Not secrets (a merchant id, an API version): literal or ${ENV}; each one must resolve.
            for (name, value) in try headersNode.members() {
                let lower = name.lowercased()
                guard HandlerFileLoader.isHeaderName(lower) else { throw value.error("'\(name)' is not a header name") }
                let (text, missing) = secrets.interpolate(try value.string())
                guard !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { throw value.error("a header value cannot hold control characters") }
                if missing.isEmpty { headers.append(HeaderField(name: lower, value: text)) } else { unresolved += missing.map { "${\($0)}" } }
            }
        }
        let timeout = try node.optional("timeout")?.duration() ?? .seconds(10)
        guard timeout.milliseconds >= 100, timeout.milliseconds <= 120_000 else {
            throw try node.required("timeout").error("timeout must be between 100ms and 2m")
        }
        let afterReturns = try node.optional("after_returns")?.bool() ?? true
        var poll = StatusCheckPolicy.defaultPoll
        if let pollNode = try node.optional("poll") {
            poll = []
            for entry in try pollNode.elements() {
                let wait = try entry.duration()
                guard wait.milliseconds >= 1_000 else { throw entry.error("a poll wait must be at least 1s") }
                poll.append(wait.milliseconds)
            }
            guard poll.count <= 100 else { throw pollNode.error("at most 100 poll steps") }
        }
        let extraction = try loadExtraction(node, parameters: [])
        guard extraction.fields[.providerStatus] != nil else {
            throw node.error("status_api needs fields.provider_status (an answer without a status is not an answer)")
        }
        var route = Route(
            provider: provider, name: StatusAPISpec.routeName, pattern: RoutePattern("/\(provider)/\(StatusAPISpec.routeName)", allowed: [:]),
            methods: ["GET"], channel: .statusCheck, format: .json, verifiers: [], fields: extraction.fields,
            merchantData: extraction.merchantData, typeMapping: extraction.typeMapping, dedup: extraction.dedup, landing: nil
        )
        route.typeFields = extraction.typeFields
        route.absentValues = extraction.absentValues
        guard unresolved.isEmpty else { return (nil, unresolved) }
        return (StatusAPISpec(provider: provider, urlTemplate: url, headers: headers, timeout: timeout, afterReturns: afterReturns,
                              poll: poll, route: route), [])
    }

    /// An HTTP token (RFC 9110): letters, digits and ``!#$%&'*+-.^_`|~``.
    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    public static let verifierNames = ["none", "basic_auth", "api_key", "hmac", "standard_webhooks", "ip_allowlist", "juspay_return"]
}

extension ConfigNode {
    /// A list, or a single scalar taken as a one-element list.
    func elements(orScalar: Bool) throws(ConfigError) -> [ConfigNode] {
        if case .sequence = node { return try elements() }
        return [self]
    }
}
