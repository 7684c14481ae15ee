import ArgumentParser
import CallbridgeSimulator
import Logging
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `callbridge simulate serve-status PROVIDER --port N`: serve a local fake of
/// the provider's order-status API (``StatusAPISimulator``), accepting the
/// credentials the server's handler files read from the environment, so
/// `callbridge serve` can run its status checks against it.
///
/// Every order answers `--status` for `--amount` (after `--pending-for N`
/// pending answers for that order). Runs until SIGINT or SIGTERM.
struct SimulateServeStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve-status",
        abstract: "Serve a local fake of a provider's order-status API until interrupted.",
        discussion: """
        Endpoints:
        \(SimulatedProvider.allCases.map { "  \($0): \($0.statusAPIRequest)" }.joined(separator: "\n"))
        Callers must present the credentials the server's handler files read: \
        \(SimulatedProvider.allCases.map { "\($0) \(Self.credentialVariables(for: $0).joined(separator: " and "))" }.joined(separator: "; ")) \
        (or pass --no-auth to accept any caller).
        """
    )

    @Argument(help: "Provider: \(SimulatedProvider.allCases.map(\.rawValue).joined(separator: ", ")).")
    var provider: String

    @Option(help: ArgumentHelp("Address to listen on.", valueName: "host"))
    var host: String = "127.0.0.1"

    @Option(help: ArgumentHelp("Port to listen on (0 picks a free one, printed on start).", valueName: "port"))
    var port: Int

    @Option(help: ArgumentHelp("Status word every order answers (default: the provider's success word, e.g. CHARGED).", valueName: "word"))
    var status: String?

    @Option(help: ArgumentHelp("Amount every order answers, a plain decimal.", valueName: "amount"))
    var amount: String = "100.00"

    @Option(help: ArgumentHelp("Currency every order answers (default: the provider's usual one).", valueName: "code"))
    var currency: String?

    @Option(help: ArgumentHelp("Answer the provider's pending word to the first N calls for each order.", valueName: "n"))
    var pendingFor: Int = 0

    @Flag(help: "Accept any caller, without credentials.")
    var noAuth = false

    func validate() throws {
        guard SimulatedProvider(rawValue: provider) != nil else {
            throw ValidationError("unknown provider '\(provider)' (expected one of: \(SimulatedProvider.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard (0...65_535).contains(port) else {
            throw ValidationError("--port must be in 0...65535 (0 picks a free port)")
        }
        guard !host.isEmpty, !host.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw ValidationError("--host must be a host name or address, e.g. 127.0.0.1")
        }
        guard Self.isPlainDecimal(amount) else {
            throw ValidationError("--amount must be a plain decimal such as 100.00 (digits, optionally a dot and more digits)")
        }
        if let status, status.isEmpty || status.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw ValidationError("--status must be non-empty printable text")
        }
        if let currency, currency.isEmpty || currency.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw ValidationError("--currency must be non-empty printable text, e.g. EUR")
        }
        guard pendingFor >= 0 else {
            throw ValidationError("--pending-for must not be negative")
        }
    }

    func run() async throws {
        guard let provider = SimulatedProvider(rawValue: provider) else { throw CLIError("unknown provider '\(self.provider)'") }
        let credentials: StatusAPISimulator.Credentials?
        if noAuth {
            credentials = nil
        } else {
            credentials = try Self.credentials(for: provider, environment: ProcessEnvironment.variables)
        }
        let simulator = StatusAPISimulator(provider: provider, credentials: credentials)
        simulator.setDefault(StatusAPISimulator.OrderAnswer(status: status ?? provider.successWord, amount: amount, currency: currency))
        simulator.setPendingFor(pendingFor)

        var logger = Logger(label: "callbridge.simulate")
        logger.logLevel = .warning
        let service = StatusAPIService(simulator: simulator, host: host, port: port) { [host] bound in
            let base = "http://\(Self.urlHost(host)):\(bound)"
            print("serving the \(provider) status API on \(base) (\(provider.statusAPIRequest)); set \(Self.baseVariable(for: provider))=\(base) for callbridge serve")
            fflush(nil) // all C streams: stdout is a pipe under tests and supervisors
        }
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            throw CLIError("cannot serve the \(provider) status API on \(host):\(port): \(error)")
        }
    }

    /// The environment variables holding the credentials `provider`'s handler file uses for its status API.
    static func credentialVariables(for provider: SimulatedProvider) -> [String] {
        switch provider {
        case .juspay: return ["JUSPAY_API_KEY", "JUSPAY_MERCHANT_ID"]
        case .luxfin: return ["LUXFIN_API_KEY"]
        case .nonstopay: return ["NONSTOPAY_API_KEY"]
        }
    }

    /// The variable the handler file reads for the status API's base URL.
    static func baseVariable(for provider: SimulatedProvider) -> String {
        switch provider {
        case .juspay: return "JUSPAY_API_BASE"
        case .luxfin: return "LUXFIN_API_BASE"
        case .nonstopay: return "NONSTOPAY_API_BASE"
        }
    }

    /// The credentials from `environment`; an unset or empty variable is an error naming it.
    static func credentials(for provider: SimulatedProvider, environment: [String: String]) throws -> StatusAPISimulator.Credentials {
        let names = credentialVariables(for: provider)
        let missing = names.filter { (environment[$0] ?? "").isEmpty }
        guard missing.isEmpty, let key = names.first.flatMap({ environment[$0] }) else {
            let list = missing.joined(separator: " and ")
            throw CLIError("\(list) \(missing.count == 1 ? "is" : "are") not set: the simulated \(provider) status API accepts only the credentials callbridge serve sends from \(missing.count == 1 ? "it" : "them"); set \(missing.count == 1 ? "it" : "them"), or pass --no-auth to accept any caller")
        }
        let merchantID = names.count > 1 ? environment[names[1]] : nil
        return StatusAPISimulator.Credentials(apiKey: key, merchantID: merchantID)
    }

    /// `host` as it goes in a URL (an IPv6 address in brackets).
    static func urlHost(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }

    /// Whether `text` matches `^[0-9]+(\.[0-9]+)?$`.
    static func isPlainDecimal(_ text: String) -> Bool {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDigits: (Substring) -> Bool = { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } }
        return parts.allSatisfy(isDigits)
    }
}

/// The status API simulator as a `Service`: serves until the group shuts down gracefully.
struct StatusAPIService: Service {
    let simulator: StatusAPISimulator
    let host: String
    let port: Int
    let onReady: @Sendable (Int) -> Void

    func run() async throws {
        let simulator = simulator, host = host, port = port, onReady = onReady
        try await cancelWhenGracefulShutdown {
            try await simulator.serve(host: host, port: port, onReady: onReady)
        }
    }
}
