import ArgumentParser
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeServer
import CallbridgeSimulator
import CallbridgeTransport
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `callbridge simulate`: play a payment provider locally, so an installation
/// can be tried without a provider sandbox. `send` (the default, so
/// `callbridge simulate PROVIDER SCENARIO --to URL` keeps working) sends a
/// provider's callback or browser return; `serve-status` serves the
/// provider's order-status API.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Play a payment provider: send its callbacks and browser returns, or serve its order-status API.",
        subcommands: [SimulateSendCommand.self, SimulateServeStatusCommand.self],
        defaultSubcommand: SimulateSendCommand.self
    )
}

/// `callbridge simulate [send] PROVIDER SCENARIO --to URL`: send the callback or
/// browser return a provider would send, signed with the secrets the handler
/// files resolve, so an installation can be tried without a provider sandbox.
struct SimulateSendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a realistic, correctly signed provider callback or browser return to a running server.",
        discussion: """
        Providers and scenarios:
        \(SimulatedProvider.allCases.map { provider in
            "  \(provider): " + provider.channels.map { "\($0.rawValue) (\(provider.scenarios(on: $0).map(\.rawValue).joined(separator: ", ")))" }.joined(separator: "; ")
        }.joined(separator: "\n"))
        Secrets come from the same environment variables the server reads (see the handler files).
        """
    )

    @Argument(help: "Provider: \(SimulatedProvider.allCases.map(\.rawValue).joined(separator: ", ")).")
    var provider: String

    @Argument(help: "Scenario: \(SimulationScenario.allCases.map(\.rawValue).joined(separator: ", ")).")
    var scenario: String

    @Option(help: ArgumentHelp("Base URL of the Callbridge server, e.g. http://localhost:8080.", valueName: "url"))
    var to: String

    @Option(help: ArgumentHelp("callback or redirect (default: callback when the provider sends one for this scenario, else redirect).", valueName: "channel"))
    var channel: String?

    @Option(help: ArgumentHelp("Order id to use (default: a new one per run).", valueName: "id"))
    var orderID: String?

    @Option(help: ArgumentHelp("Folder of handler files (default: the config's handlers folder, else ./handlers).", valueName: "dir"))
    var handlers: String?

    @Option(help: ArgumentHelp("Path to callbridge.yaml (used only to find the handlers folder).", valueName: "file"))
    var config: String?

    func validate() throws {
        guard SimulatedProvider(rawValue: provider) != nil else {
            throw ValidationError("unknown provider '\(provider)' (expected one of: \(SimulatedProvider.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard SimulationScenario(rawValue: scenario) != nil else {
            throw ValidationError("unknown scenario '\(scenario)' (expected one of: \(SimulationScenario.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if let channel, Channel(rawValue: channel) == nil {
            throw ValidationError("--channel must be callback or redirect")
        }
        guard to.hasPrefix("http://") || to.hasPrefix("https://") else {
            throw ValidationError("--to must be an http:// or https:// URL, e.g. http://localhost:8080")
        }
        if let orderID, orderID.isEmpty || orderID.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
            throw ValidationError("--order-id must be non-empty printable text")
        }
    }

    func run() async throws {
        guard let provider = SimulatedProvider(rawValue: provider), let scenario = SimulationScenario(rawValue: scenario) else {
            throw CLIError("unknown provider or scenario")
        }
        var directory = handlers ?? "./handlers"
        if handlers == nil, let config {
            do {
                directory = try CallbridgeConfig.load(path: config, secrets: SecretSource(environment: ProcessEnvironment.variables), requireSecrets: false).handlersDirectory
            } catch {
                throw CLIError("invalid configuration: \(error)")
            }
        }
        let set: HandlerSet
        do {
            set = try HandlerDirectoryLoader(directory: directory, secrets: SecretSource(environment: ProcessEnvironment.variables)).load()
        } catch {
            throw CLIError("cannot load the handlers in \(directory):\n\(error.description)")
        }
        let simulation: Simulation
        do {
            simulation = try ProviderSimulator(handlers: set).simulation(
                provider: provider, scenario: scenario, channel: channel.flatMap(Channel.init(rawValue:)),
                identifiers: .random(for: provider, orderID: orderID), now: Self.now()
            )
        } catch {
            throw CLIError(error.description)
        }
        let request = simulation.request
        let expected = simulation.expected
        print("\(provider) \(scenario) via \(simulation.channel.rawValue) (route \(expected.provider)/\(expected.route)), order \(expected.orderID)")
        print("sent: \(request.method) \(request.target)")
        let route = set.route(provider: expected.provider, name: expected.route)
        for (name, value) in request.headers {
            let secret = Normalizer.alwaysSecretHeaders.contains(name.lowercased()) || (route?.secretHeaders.contains(name.lowercased()) ?? false)
            print("header: \(name): \(secret ? Normalizer.redacted : value)")
        }
        if !request.body.isEmpty { print("body: \(String(decoding: request.body, as: UTF8.self))") }
        print("expect: \(expected.type.rawValue), \(expected.verified ? "verified" : "unverified")")
        if simulation.channel == .redirect, let spec = set.statusAPI(provider: expected.provider), spec.afterReturns {
            print("note: the server asks \(expected.provider)'s status API about this return; a simulated order is unknown there unless it points at `callbridge simulate serve-status \(expected.provider)`")
        }

        let transport: CurlTransport
        do {
            transport = try CurlTransport()
        } catch {
            throw CLIError("cannot start the HTTP client: \(error)")
        }
        let result: Result<TransportResponse, TransportError>
        do {
            result = .success(try await transport.send(request.transportRequest(baseURL: to)))
        } catch {
            result = .failure(error)
        }
        await transport.shutdown()
        let response: TransportResponse
        switch result {
        case .success(let value): response = value
        case .failure(let error): throw CLIError("request to \(to) failed: \(error)")
        }

        print("status: \(response.status)")
        if let location = response.header("location") { print("location: \(location)") }
        let body = String(decoding: response.body, as: UTF8.self)
        if !body.isEmpty { print("response: \(body)") }
        // A callback is acked with 2xx; a browser return is redirected to its landing page.
        let ok = simulation.channel == .callback ? (200..<300).contains(response.status) : (300..<400).contains(response.status)
        if !ok {
            print("error: unexpected status \(response.status) for a \(simulation.channel.rawValue)")
            throw ExitCode(1)
        }
    }

    static func now() -> Timestamp { SystemClock.now() }
}
