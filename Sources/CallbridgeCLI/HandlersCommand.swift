import ArgumentParser
import CallbridgeHandlers
import CallbridgeModel

/// `callbridge handlers check`: validate handler files without starting anything.
struct HandlersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "handlers", abstract: "Inspect provider handler files.", subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate handlers/*.yaml; exit non-zero on any problem.")

        @Option(name: .long, help: "Folder of handler files (default: the config's handlers folder, else ./handlers).")
        var handlers: String?

        @Option(name: .long, help: "Path to callbridge.yaml (used only to find the handlers folder).")
        var config: String?

        @Flag(name: .long, help: "Also fail when a secret reference is not set in this environment.")
        var strict = false

        func run() async throws {
            var directory = handlers ?? "./handlers"
            if handlers == nil, let config {
                directory = try ConfigOption.load(path: config, requireSecrets: false).handlersDirectory
            }
            let set: HandlerSet
            do {
                set = try HandlerDirectoryLoader(directory: directory, secrets: SecretSource(environment: ProcessEnvironment.variables)).load()
            } catch {
                print(error.description)
                throw ExitCode(1)
            }
            for provider in set.providers {
                print("\(provider.file): provider \(provider.provider), \(provider.routes.count) route(s)")
                for route in provider.routes {
                    print("  \(route.name): \(route.methods.sorted().joined(separator: "|")) \(route.pattern) (\(route.channel.rawValue), \(route.verifiers.map { $0.method.rawValue }.joined(separator: "+")))")
                }
                if let spec = provider.statusAPI {
                    let poll = spec.poll.map { ConfigDuration(milliseconds: $0).description }.joined(separator: ", ")
                    print("  status_api: GET \(spec.urlTemplate) (after returns: \(spec.afterReturns ? "yes" : "no"); poll: \(poll.isEmpty ? "never" : poll))")
                }
            }
            let unresolved = set.unresolvedSecrets
            for (route, reference) in unresolved {
                print("warning: \(route): \(reference) is not set; the route refuses requests until it is")
            }
            for handler in set.providers where !handler.statusAPIUnresolved.isEmpty {
                print("note: \(handler.provider): \(handler.statusAPIUnresolved.joined(separator: ", ")) not set; status checks are off (returns stay unverified hints)")
            }
            if strict && !unresolved.isEmpty { throw ExitCode(1) }
            print("ok: \(set.routes.count) route(s) in \(set.providers.count) handler file(s)")
        }
    }
}
