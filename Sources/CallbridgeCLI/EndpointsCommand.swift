import ArgumentParser
import CallbridgeModel
import CallbridgeServer
import CallbridgeStore

/// `callbridge endpoints list|enable|disable`: delivery health per endpoint.
struct EndpointsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "endpoints", abstract: "Inspect and switch delivery endpoints.", subcommands: [List.self, Enable.self, Disable.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each endpoint's state, backlog and last error.")
        @OptionGroup var options: ConfigOption
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let config = try options.load(requireSecrets: false)
            let now = SystemClock.now()
            let (statistics, disabled) = try await LogAccess.withLog(config, readOnly: true) { log in
                (try await log.endpointStatistics(now: now), try await log.disabledEndpoints())
            }
            let stats = Dictionary(uniqueKeysWithValues: statistics.map { ($0.endpoint, $0) })
            var rows: [JSONValue] = []
            var names = config.endpoints.map(\.name)
            names += stats.keys.filter { !names.contains($0) }.sorted()  // deliveries for endpoints no longer configured
            for name in names {
                let s = stats[name] ?? EndpointStatistics(endpoint: name)
                let configured = config.endpoints.contains { $0.name == name }
                let state = !configured ? "not_configured" : disabled[name] != nil ? "disabled" : "enabled"
                let oldestAge = s.oldestDueAt.map { max(0, now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch) / 1000 }
                let row: JSONValue = .object([
                    ("name", .string(name)), ("state", .string(state)),
                    ("disabled_reason", disabled[name].map(JSONValue.string) ?? .null),
                    ("backlog", .number(String(s.backlog))), ("pending", .number(String(s.pending))),
                    ("in_flight", .number(String(s.inFlight))), ("succeeded", .number(String(s.succeeded))), ("dead", .number(String(s.dead))),
                    ("oldest_due_seconds", oldestAge.map { .number(String($0)) } ?? .null),
                    ("last_status", s.lastStatusCode.map { .number(String($0)) } ?? .null),
                    ("last_error", s.lastError.map(JSONValue.string) ?? .null),
                    ("last_attempt_at", s.lastAttemptAt.map { .string($0.rfc3339) } ?? .null),
                ])
                rows.append(row)
                if !json {
                    var line = "\(name)  \(state)\(disabled[name].map { " (\($0))" } ?? "")  backlog \(s.backlog) (in flight \(s.inFlight))  succeeded \(s.succeeded)  dead \(s.dead)"
                    if let oldestAge { line += "  oldest due \(oldestAge)s ago" }
                    if let error = s.lastError { line += "  last error: \(error)" }
                    print(TerminalText.escape(line))
                }
            }
            if json { print(JSONValue.array(rows).rendered()) } else if names.isEmpty { print("no endpoints configured") }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume deliveries to an endpoint (its pending backlog goes out).")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Endpoint name.") var name: String

        func run() async throws {
            try await EndpointsCommand.setDisabled(false, name: name, options: options)
            print("\(name): enabled")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause deliveries to an endpoint; they wait, nothing is dropped.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Endpoint name.") var name: String
        @Option(help: "Why, shown in endpoints list.") var reason: String = "disabled by an operator"

        func run() async throws {
            try await EndpointsCommand.setDisabled(true, name: name, reason: reason, options: options)
            print("\(name): disabled")
        }
    }

    static func setDisabled(_ disabled: Bool, name: String, reason: String? = nil, options: ConfigOption) async throws {
        let config = try options.load(requireSecrets: false)
        guard config.endpoints.contains(where: { $0.name == name }) else {
            throw CLIError("no endpoint named '\(name)' in \(config.file) (configured: \(config.endpoints.map(\.name).joined(separator: ", ")))")
        }
        try await LogAccess.withLog(config, readOnly: false) { log in
            try await log.setEndpoint(name, disabled: disabled, reason: reason, now: SystemClock.now())
        }
    }
}
