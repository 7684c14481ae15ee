import ArgumentParser
import CallbridgeModel
import CallbridgeServer
import CallbridgeStore

/// `callbridge events list|show`: read the log, safely while a server runs.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events", abstract: "Read events from the log.", subcommands: [List.self, Show.self]
    )

    /// Runs `body` on the configured log opened read-only: safe while a server writes to it.
    static func withLog<T>(_ options: ConfigOption, _ body: (any EventLog) async throws -> T) async throws -> T {
        try await LogAccess.withLog(try options.load(requireSecrets: false), readOnly: true, body)
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List events, newest first.")

        @OptionGroup var options: ConfigOption
        @Option(help: "Only this provider (e.g. juspay).") var provider: String?
        @Option(help: "Only this event type (e.g. payment.succeeded).") var type: String?
        @Option(help: "At most this many events.") var limit: Int = 50
        @Option(help: "Only events older than this event id (pagination cursor).") var before: String?
        @Flag(help: "Print a JSON array of event envelopes.") var json = false

        func validate() throws {
            if let type, EventType(rawValue: type) == nil {
                throw ValidationError("unknown event type '\(type)' (expected one of: \(EventType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            if let before, EventID(before) == nil { throw ValidationError("--before must be an event id (evt_…)") }
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 10000") }
        }

        func run() async throws {
            let query = EventQuery(provider: provider, type: type.flatMap(EventType.init(rawValue:)), before: before.flatMap(EventID.init), limit: limit)
            let events = try await EventsCommand.withLog(options) { log in try await log.events(matching: query) }
            if json {
                print(JSONValue.array(events.map(\.envelope)).rendered())
                return
            }
            if events.isEmpty {
                print("no events")
                return
            }
            for event in events {
                let d = event.data
                let amount = [d.amount?.text, d.currency?.code].compactMap { $0 }.joined(separator: " ")
                print(TerminalText.escape([event.id.rawValue, event.type.rawValue, "\(d.provider)/\(d.route)", d.orderID ?? "-", amount.isEmpty ? "-" : amount,
                                           d.verified ? "verified" : "unverified", d.receivedAt.rfc3339].joined(separator: "  ")))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one event, its deliveries, and optionally the raw request.")

        @OptionGroup var options: ConfigOption
        @Argument(help: "The event id (evt_…).") var id: String
        @Flag(help: "Also print the stored raw request (secrets and card data masked).") var raw = false

        func run() async throws {
            guard let eventID = EventID(id) else { throw ValidationError("'\(id)' is not an event id (evt_…)") }
            let (found, deliveries) = try await EventsCommand.withLog(options) { log in
                (try await log.event(id: eventID), try await log.deliveries(forEvent: eventID))
            }
            guard let stored = found else { throw CLIError("no event \(id) in the log") }
            print(stored.event.envelope.renderedPretty())
            print("deliveries: \(deliveries.isEmpty ? "none" : "")")
            for delivery in deliveries {
                print(TerminalText.escape("  \(delivery.endpoint): \(delivery.state.rawValue), attempts \(delivery.attemptCount)"
                      + (delivery.lastStatusCode.map { ", last status \($0)" } ?? "") + (delivery.lastError.map { ", last error \($0)" } ?? "")))
            }
            if raw {
                let r = stored.raw
                print(TerminalText.escape("raw request: \(r.method) \(r.path)\(r.query.isEmpty ? "" : "?" + r.query)"))
                for header in r.headers { print(TerminalText.escape("  \(header.name): \(header.value)")) }
                print("")
                print(TerminalText.escape(String(decoding: r.body, as: UTF8.self), keepingLineBreaks: true))
            }
        }
    }
}
