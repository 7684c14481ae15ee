import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStorePostgres
import Foundation

/// `callbridge.yaml`, parsed once into values and validated before anything
/// starts. Every key is documented in README.md ("Configuration").
///
/// Invariants: endpoint names are unique; every secret came from `${ENV}` or
/// `file:` and resolved; `maxBodyBytes` is positive.
public struct CallbridgeConfig: Sendable {
    public var file: String
    public var listen: Listen
    public var storage: Storage
    public var handlersDirectory: String
    public var endpoints: [EndpointConfig]
    public var adminToken: String?
    /// `admin.console`: whether `/console` is served (only while the admin
    /// API is on, as the console is built on it alone).
    public var adminConsole = true
    public var maxBodyBytes: Int
    /// Deadlines and sizes per client connection (`limits:`).
    public var connectionLimits = ConnectionLimits()
    /// How status checks are spaced and bounded (`status_checks:`).
    public var statusChecks = StatusCheckSettings()
    public var dispatch: DispatchSettings
    /// Events older than this many days, with nothing left to deliver, are deleted; nil keeps everything.
    public var retentionDays: Int?

    /// Dispatcher tunables that are not per endpoint (`dispatch:`).
    public struct DispatchSettings: Sendable, Hashable {
        /// How long a lease outlives the longest endpoint timeout.
        public var leaseMargin = ConfigDuration.seconds(10)
        /// How often to look for deliveries added by other processes.
        public var pollInterval = ConfigDuration.seconds(1)
        /// How long in-flight attempts may run on after SIGTERM.
        public var shutdownGrace = ConfigDuration.seconds(10)
        /// Consecutive failures that pause an endpoint.
        public var breakerFailures = 5
        /// The first pause; it doubles while probes fail, up to 10 minutes.
        public var breakerCooldown = ConfigDuration.seconds(30)
        public init() {}
    }

    /// Where the HTTP listener binds, and which peers are reverse proxies.
    public struct Listen: Sendable, Hashable {
        public var host: String
        public var port: Int
        /// Networks whose `X-Forwarded-For` is believed (`listen.trusted_proxies`).
        public var trustedProxies: [IPAllowlistVerifier.Network] = []
        public init(host: String = "0.0.0.0", port: Int = 8080) {
            self.host = host
            self.port = port
        }
    }

    /// Which log implementation stores events.
    public enum Storage: Sendable, Hashable, CustomStringConvertible {
        case sqlite(path: String, synchronousFull: Bool)
        /// A PostgreSQL database shared by several processes.
        case postgres(PostgresURL)

        /// For logs: the PostgreSQL password is never shown.
        public var description: String {
            switch self {
            case .sqlite(let path, let full): return "sqlite:\(path) (synchronous \(full ? "full" : "normal"))"
            case .postgres(let url): return url.description
            }
        }
    }

    public static let defaultMaxBodyBytes = 1 << 20

    /// Whether `/console` is served: `admin.console` (default true) and an admin token to sign in with.
    public var consoleEnabled: Bool { adminConsole && adminToken != nil }

    public init(
        file: String = "(built-in)", listen: Listen = Listen(), storage: Storage = .sqlite(path: "./data/callbridge.sqlite", synchronousFull: true),
        handlersDirectory: String = "./handlers", endpoints: [EndpointConfig] = [], adminToken: String? = nil,
        maxBodyBytes: Int = CallbridgeConfig.defaultMaxBodyBytes, dispatch: DispatchSettings = DispatchSettings()
    ) {
        self.dispatch = dispatch
        self.file = file
        self.listen = listen
        self.storage = storage
        self.handlersDirectory = handlersDirectory
        self.endpoints = endpoints
        self.adminToken = adminToken
        self.maxBodyBytes = maxBodyBytes
    }

    /// Reads and validates a config file; relative paths in it stay relative
    /// to the working directory, as the README's commands expect.
    ///
    /// - Parameter requireSecrets: false for commands that only read the log
    ///   (`events list`): unset secret references are then left empty instead
    ///   of refused, so an operator need not hold every endpoint's secret.
    public static func load(path: String, secrets: SecretSource, requireSecrets: Bool = true) throws(ConfigError) -> CallbridgeConfig {
        guard let text = SecretSource.readTextFile(path) else {
            throw ConfigError(file: path, keyPath: "", message: "config file not found or not readable (pass --config FILE)")
        }
        return try parse(yaml: text, file: path, secrets: secrets, requireSecrets: requireSecrets)
    }

    public static func parse(yaml: String, file: String, secrets: SecretSource, requireSecrets: Bool = true) throws(ConfigError) -> CallbridgeConfig {
        let root = try ConfigNode.parse(yaml: yaml, file: file)
        try root.rejectUnknownKeys(["listen", "storage", "handlers", "endpoints", "dispatch", "admin", "limits", "retention", "status_checks"])
        var config = CallbridgeConfig(file: file)

        if let listen = try root.optional("listen") {
            try listen.rejectUnknownKeys(["host", "port", "trusted_proxies"])
            if let host = try listen.optional("host") { config.listen.host = try host.string() }
            if let port = try listen.optional("port") { config.listen.port = try port.int(in: 0...65535) }
            if let proxies = try listen.optional("trusted_proxies") {
                for text in try proxies.strings() {
                    guard let network = IPAllowlistVerifier.Network(text) else { throw proxies.error("'\(text)' is not an IP address or CIDR block") }
                    config.listen.trustedProxies.append(network)
                }
            }
        }
        if let storage = try root.optional("storage") {
            try storage.rejectUnknownKeys(["sqlite", "synchronous", "postgres"])
            if let postgres = try storage.optional("postgres") {
                if try storage.optional("sqlite") != nil { throw postgres.error("choose one of sqlite and postgres") }
                if let sync = try storage.optional("synchronous") { throw sync.error("synchronous applies to sqlite only") }
                config.storage = .postgres(try parsePostgresURL(postgres, secrets: secrets))
                return try parseRest(root, into: config, secrets: secrets, requireSecrets: requireSecrets)
            }
            let path = try storage.required("sqlite").string()
            guard !path.isEmpty else { throw try storage.required("sqlite").error("must be a file path") }
            var full = true
            if let sync = try storage.optional("synchronous") {
                switch try sync.string().lowercased() {
                case "full": full = true
                case "normal": full = false
                default: throw sync.error("expected full or normal")
                }
            }
            config.storage = .sqlite(path: path, synchronousFull: full)
        }
        return try parseRest(root, into: config, secrets: secrets, requireSecrets: requireSecrets)
    }

    /// `storage.postgres`: a URL without a password, or a `${ENV}` / `file:`
    /// reference to one with a password (a password is a secret, never
    /// written in the config).
    static func parsePostgresURL(_ node: ConfigNode, secrets: SecretSource) throws(ConfigError) -> PostgresURL {
        let text = try node.string()
        let isReference = SecretReference(text) != nil
        let value = isReference ? (try resolveSecret(node, secrets: secrets, required: true) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) : text
        let url: PostgresURL
        do {
            url = try PostgresURL(parsing: value)
        } catch {
            throw node.error("\(error)")
        }
        if url.password != nil, !isReference {
            throw node.error("this URL holds a password: reference it as ${ENV_VAR} or file:PATH instead of writing it in the config")
        }
        return url
    }

    private static func parseRest(_ root: ConfigNode, into config: CallbridgeConfig, secrets: SecretSource,
                                  requireSecrets: Bool) throws(ConfigError) -> CallbridgeConfig {
        var config = config
        if let handlers = try root.optional("handlers") {
            if case .mapping = handlers.node {
                try handlers.rejectUnknownKeys(["directory"])
                config.handlersDirectory = try handlers.required("directory").string()
            } else {
                config.handlersDirectory = try handlers.string()
            }
        }
        if let endpoints = try root.optional("endpoints") {
            for node in try endpoints.elements() {
                let endpoint = try EndpointConfig.parse(node, secrets: secrets, requireSecrets: requireSecrets)
                if config.endpoints.contains(where: { $0.name == endpoint.name }) {
                    throw try node.required("name").error("endpoint name '\(endpoint.name)' is used twice")
                }
                config.endpoints.append(endpoint)
            }
        }
        if let dispatch = try root.optional("dispatch") {
            try dispatch.rejectUnknownKeys(["lease_margin", "poll_interval", "shutdown_grace", "breaker_failures", "breaker_cooldown"])
            func positive(_ key: String) throws(ConfigError) -> ConfigDuration? {
                guard let node = try dispatch.optional(key) else { return nil }
                let value = try node.duration()
                guard value.milliseconds > 0 else { throw node.error("must be longer than 0") }
                return value
            }
            if let v = try positive("lease_margin") { config.dispatch.leaseMargin = v }
            if let v = try positive("poll_interval") { config.dispatch.pollInterval = v }
            if let v = try dispatch.optional("shutdown_grace") { config.dispatch.shutdownGrace = try v.duration() }
            if let v = try dispatch.optional("breaker_failures") { config.dispatch.breakerFailures = try v.int(in: 1...1000) }
            if let v = try positive("breaker_cooldown") { config.dispatch.breakerCooldown = v }
        }
        if let admin = try root.optional("admin") {
            try admin.rejectUnknownKeys(["token", "console"])
            if let token = try admin.optional("token") {
                config.adminToken = try resolveSecret(token, secrets: secrets, required: requireSecrets)
            }
            if let console = try admin.optional("console") { config.adminConsole = try console.bool() }
        }
        if let limits = try root.optional("limits") {
            try limits.rejectUnknownKeys([
                "max_body_bytes", "max_connections", "header_timeout", "body_timeout", "idle_timeout", "max_header_bytes",
                "max_headers", "max_uri_bytes", "max_query_parameters", "confirmations_in_flight", "confirmations_queued",
            ])
            for key in ["confirmations_in_flight", "confirmations_queued"] {
                if let node = try limits.optional(key) {
                    throw node.error("limits.\(key) was replaced by status_checks (max_in_flight, max_in_flight_per_provider, rate_per_provider)")
                }
            }
            if let max = try limits.optional("max_body_bytes") { config.maxBodyBytes = try max.int(in: 1...(64 << 20)) }
            func timeout(_ key: String) throws(ConfigError) -> ConfigDuration? {
                guard let node = try limits.optional(key) else { return nil }
                let value = try node.duration()
                guard value.milliseconds >= 100, value <= .seconds(86_400) else { throw node.error("must be between 100ms and 1d") }
                return value
            }
            var connection = config.connectionLimits
            if let v = try timeout("header_timeout") { connection.headerTimeout = v }
            if let v = try timeout("body_timeout") { connection.bodyTimeout = v }
            if let v = try timeout("idle_timeout") { connection.idleTimeout = v }
            if let v = try limits.optional("max_connections") { connection.maxConnections = try v.int(in: 1...1_000_000) }
            if let v = try limits.optional("max_header_bytes") { connection.maxHeaderBytes = try v.int(in: 1024...(1 << 20)) }
            if let v = try limits.optional("max_headers") { connection.maxHeaders = try v.int(in: 8...10_000) }
            if let v = try limits.optional("max_uri_bytes") { connection.maxURIBytes = try v.int(in: 256...(1 << 20)) }
            if let v = try limits.optional("max_query_parameters") { connection.maxQueryParameters = try v.int(in: 1...100_000) }
            if connection.maxURIBytes > connection.maxHeaderBytes {
                let node: ConfigNode
                if let uri = try limits.optional("max_uri_bytes") { node = uri } else { node = try limits.required("max_header_bytes") }
                throw node.error("max_uri_bytes (\(connection.maxURIBytes)) cannot exceed max_header_bytes (\(connection.maxHeaderBytes)): the request line is read under the header limit")
            }
            config.connectionLimits = connection
        }
        if let checks = try root.optional("status_checks") {
            config.statusChecks = try StatusCheckSettings.parse(checks)
        }
        if let retention = try root.optional("retention") {
            try retention.rejectUnknownKeys(["days"])
            if let days = try retention.optional("days") { config.retentionDays = try days.int(in: 1...36_500) }
        }
        return config
    }

    /// A secret value in the config: `${ENV}` or `file:PATH`. Nil only when
    /// it does not resolve and `required` is false.
    static func resolveSecret(_ node: ConfigNode, secrets: SecretSource, required: Bool) throws(ConfigError) -> String? {
        let text = try node.string()
        guard let reference = SecretReference(text) else {
            throw node.error("secrets must be referenced as ${ENV_VAR} or file:PATH, not written in the config")
        }
        guard let value = secrets.resolve(reference) else {
            if !required { return nil }
            throw node.error("\(reference) is not set (or the file is empty)")
        }
        return value
    }
}
