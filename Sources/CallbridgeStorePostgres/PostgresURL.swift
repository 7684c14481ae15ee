import Foundation

/// A parsed `postgres://user:password@host:port/database?options` URL: the
/// one way a PostgreSQL log is named (config `storage.postgres`, `log copy`).
///
/// Invariants: `host`, `username` and `database` are non-empty; `port` is in
/// 1...65535; only the query options listed in `knownOptions` are accepted,
/// so a misspelt option is an error instead of a silently ignored setting.
/// `description` never shows the password.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    /// libpq's `sslmode` values that Callbridge honours.
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS if the server offers it, without checking its certificate (libpq's default).
        case prefer
        /// TLS or fail; the certificate is not checked (as libpq does).
        case require
        /// TLS with a certificate signed by a trusted CA; any host name.
        case verifyCA = "verify-ca"
        /// TLS with a trusted certificate for this host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode
    /// PEM file of CA certificates for `verify-ca` / `verify-full` (system roots otherwise).
    public var sslRootCertificate: String?
    /// How many connections this process keeps at most (`pool_max`, 3 to 200,
    /// default 10; one of them LISTENs for new deliveries).
    public var maximumConnections: Int
    /// How long to wait for a connection to be established (`connect_timeout`, seconds).
    public var connectTimeoutSeconds: Int
    /// Reported to the server as `application_name`.
    public var applicationName: String

    public static let knownOptions = ["sslmode", "sslrootcert", "pool_max", "connect_timeout", "application_name"]

    public init(parsing text: String) throws(PostgresURLError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw PostgresURLError("not a URL; expected postgres://user:password@host:port/database")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresURLError("scheme must be postgres:// or postgresql://, not \(scheme)://")
        }
        guard let host = components.host, !host.isEmpty else { throw PostgresURLError("the URL names no host") }
        // The percent-encoded forms, decoded once (URLComponents' `user` and
        // `password` are decoded already; decoding those again would turn a
        // literal `%41` in a password into `A`).
        guard let user = components.percentEncodedUser, !user.isEmpty else { throw PostgresURLError("the URL names no user (postgres://USER@host/db)") }
        let database = String(components.percentEncodedPath.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw PostgresURLError("the URL names no database (postgres://user@host/DATABASE)") }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw PostgresURLError("port \(port) is out of range") }

        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        self.username = user.removingPercentEncoding ?? user
        self.password = components.percentEncodedPassword.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.sslMode = .prefer
        self.maximumConnections = 10
        self.connectTimeoutSeconds = 10
        self.applicationName = "callbridge"

        var seen = Set<String>()
        for item in components.queryItems ?? [] {
            guard Self.knownOptions.contains(item.name) else {
                throw PostgresURLError("unknown option '\(item.name)' (known: \(Self.knownOptions.joined(separator: ", ")))")
            }
            guard seen.insert(item.name).inserted else { throw PostgresURLError("option '\(item.name)' is given twice") }
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw PostgresURLError("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(value)'")
                }
                sslMode = mode
            case "sslrootcert":
                guard !value.isEmpty else { throw PostgresURLError("sslrootcert must name a PEM file") }
                sslRootCertificate = value
            case "pool_max":
                // One connection is held by LISTEN; ingest, leasing and reads need the others.
                guard let n = Int(value), (3...200).contains(n) else { throw PostgresURLError("pool_max must be a number from 3 to 200, not '\(value)'") }
                maximumConnections = n
            case "connect_timeout":
                guard let n = Int(value), (1...600).contains(n) else { throw PostgresURLError("connect_timeout must be seconds from 1 to 600, not '\(value)'") }
                connectTimeoutSeconds = n
            default:
                guard !value.isEmpty else { throw PostgresURLError("application_name must not be empty") }
                applicationName = value
            }
        }
        if sslRootCertificate != nil, sslMode != .verifyCA, sslMode != .verifyFull {
            throw PostgresURLError("sslrootcert needs sslmode=verify-ca or verify-full")
        }
    }

    /// The URL with the password replaced by `***`: safe for logs.
    public var description: String {
        let credentials = password == nil ? username : "\(username):***"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(credentials)@\(hostPart):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    /// The same server with another database (tests, `log copy` set-up).
    public func with(database: String) -> PostgresURL {
        var copy = self
        copy.database = database
        return copy
    }
}

/// Why a PostgreSQL URL was refused.
public struct PostgresURLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
