import ArgumentParser
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeServer
import CallbridgeStore

/// `callbridge orders show|list|expect|check`: the order ledger (README,
/// "Order truth") and its status checks ("Status checks").
struct OrdersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders", abstract: "Read the order ledger, register expected amounts, ask the provider.",
        subcommands: [Show.self, List.self, Expect.self, Check.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An order's state, amounts and the timeline of every event placed in it.")
        @OptionGroup var options: ConfigOption
        @Argument(help: "Provider name (as in the handler files).") var provider: String
        @Argument(help: "The order id the provider sends.") var orderID: String
        @Flag(help: "Print JSON (the admin API's shape).") var json = false

        func run() async throws {
            let config = try options.load(requireSecrets: false)
            let (entry, story, check) = try await LogAccess.withLog(config, readOnly: true) { [provider, orderID] log in
                (try await log.order(provider: provider, orderID: orderID), try await log.orderStory(provider: provider, orderID: orderID),
                 try await log.statusCheck(provider: provider, orderID: orderID, tries: 20))
            }
            guard let entry else {
                throw CLIError("no order '\(TerminalText.escape(orderID))' of provider '\(TerminalText.escape(provider))' in the ledger")
            }
            if json {
                print(OrderStoryRendering.json(entry: entry, story: story, statusCheck: check).rendered())
            } else {
                print(OrderStoryRendering.text(entry: entry, story: story, statusCheck: check, escape: { TerminalText.escape($0) }))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Orders, most recently seen first.")
        @OptionGroup var options: ConfigOption
        @Option(help: "Only orders in this state (\(OrderState.allCases.map(\.rawValue).joined(separator: ", "))).") var state: String?
        @Option(help: "Only this provider's orders.") var provider: String?
        @Flag(help: "Only orders with a conflicting event (amount or currency mismatch).") var mismatch = false
        @Option(help: "At most this many orders.") var limit: Int = 50
        @Option(help: "Continue after this cursor (printed after a full page).") var cursor: Int64?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if let state, OrderState(rawValue: state) == nil {
                throw ValidationError("--state must be one of \(OrderState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func run() async throws {
            let config = try options.load(requireSecrets: false)
            let query = OrderQuery(provider: provider, state: state.flatMap(OrderState.init(rawValue:)), mismatch: mismatch ? true : nil,
                                   before: cursor, limit: limit)
            let listings = try await LogAccess.withLog(config, readOnly: true) { log in try await log.orders(matching: query) }
            let next = listings.count == limit ? listings.last?.cursor : nil
            if json {
                print(JSONValue.object([
                    ("data", .array(listings.map(\.entry.json))), ("next_cursor", next.map { .number(String($0)) } ?? .null),
                ]).rendered())
                return
            }
            if listings.isEmpty { print("no orders"); return }
            for listing in listings {
                let e = listing.entry
                var line = "\(e.provider)  \(e.orderID)  \(e.state.rawValue)"
                if let amount = e.amount { line += "  \(amount.text)\(e.currency.map { " " + $0.code } ?? "")" }
                if let expected = e.expectedAmount { line += "  expected \(expected.text)\(e.expectedCurrency.map { " " + $0.code } ?? "")" }
                line += "  events \(e.counts.events)"
                if e.hasMismatch { line += "  MISMATCH" }
                if let last = e.lastSeenAt { line += "  last seen \(last.rfc3339)" }
                print(TerminalText.escape(line))
            }
            if let next { print("more: --cursor \(next)") }
        }
    }

    struct Expect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register what the merchant created, before sending the buyer to the provider.",
            discussion: "Verified payment events of the order whose amount or currency differ are delivered marked `conflict`."
        )
        @OptionGroup var options: ConfigOption
        @Argument(help: "Provider name (as in the handler files).") var provider: String
        @Argument(help: "The order id the provider will send.") var orderID: String
        @Argument(help: "The amount, as a decimal (100.00).") var amount: String
        @Argument(help: "ISO 4217 currency code (USD).") var currency: String

        func run() async throws {
            let config = try options.load(requireSecrets: false)
            let handlers = try config.loadHandlers()
            guard handlers.providers.contains(where: { $0.provider == provider }) else {
                throw CLIError("no provider '\(TerminalText.escape(provider))' in the handler files (known: \(handlers.providers.map(\.provider).sorted().joined(separator: ", ")))")
            }
            guard let decimal = DecimalAmount.plain(amount) else {
                throw CLIError("'\(TerminalText.escape(amount))' is not a decimal amount such as 100.00")
            }
            guard let code = CurrencyCode(currency) else { throw CLIError("'\(TerminalText.escape(currency))' is not a three-letter currency code such as USD") }
            let (entry, registration) = try await LogAccess.withLog(config, readOnly: false) { [provider, orderID] log in
                do {
                    return try await log.registerOrder(provider: provider, orderID: orderID, amount: decimal, currency: code, now: SystemClock.now())
                } catch let error as OrderRegistrationError {
                    throw CLIError("\(provider) \(orderID): \(error.description)")
                }
            }
            print(TerminalText.escape("\(entry.provider) \(entry.orderID): expecting \(decimal.text) \(code.code)"
                                      + (registration.created ? "" : " (already registered)") + "; state \(entry.state.rawValue)"))
            for m in registration.mismatch {
                print(TerminalText.escape("warning: the provider already reported \(m.field) \(m.got), not \(m.expected)"))
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the provider's status API about an order now.",
            discussion: """
            Writes the request into the log; the running server's status-check worker makes the call (within \
            status_checks.poll_interval) and records the answer as a verified status_check event. With --wait, \
            waits for that try and prints its outcome.
            """
        )
        @OptionGroup var options: ConfigOption
        @Argument(help: "Provider name (as in the handler files).") var provider: String
        @Argument(help: "The order id the provider knows.") var orderID: String
        @Option(help: "The provider's own id, for providers asked by it (NonStoPay's invoice id).") var transactionID: String?
        @Option(help: "Seconds to wait for the answer (0: do not wait).") var wait: Int = 0
        @Flag(help: "Print JSON (the job and its tries).") var json = false

        func validate() throws {
            guard (0...600).contains(wait) else { throw ValidationError("--wait must be from 0 to 600 seconds") }
            guard !orderID.isEmpty, orderID.unicodeScalars.count <= 1024 else { throw ValidationError("the order id must be 1 to 1024 characters") }
        }

        func run() async throws {
            let config = try options.load(requireSecrets: false)
            let handlers = try config.loadHandlers()
            let detail = try await LogAccess.withLog(config, readOnly: false) { [provider, orderID, transactionID, wait] log -> StatusCheckDetail? in
                let before: StatusCheck?
                do {
                    before = try await OperatorStatusCheck.request(log: log, handlers: handlers, provider: provider, orderID: orderID,
                                                                   transactionID: transactionID, now: SystemClock.now()).before
                } catch let refusal as OperatorStatusCheck.Refusal {
                    throw CLIError(TerminalText.escape(refusal.description))
                }
                let triesBefore = before?.tries ?? 0
                let deadline = ContinuousClock.now + .seconds(wait)
                var current = try await log.statusCheck(provider: provider, orderID: orderID, tries: 5)
                while wait > 0, ContinuousClock.now < deadline, (current?.check.tries ?? 0) <= triesBefore || current?.check.state == .leased {
                    try await Task.sleep(for: .milliseconds(200))
                    current = try await log.statusCheck(provider: provider, orderID: orderID, tries: 5)
                }
                return current
            }
            guard let detail else { throw CLIError("the status check was not recorded") }
            if json {
                print(OrderStoryRendering.checkJSON(detail).rendered())
                return
            }
            let check = detail.check
            if wait == 0 || check.tries == 0 {
                print(TerminalText.escape("\(provider) \(orderID): status check \(check.state.rawValue)"
                                          + (check.dueAt.map { ", due \($0.rfc3339)" } ?? "") + (wait > 0 ? " (no answer within \(wait)s: is the server running?)" : "")))
                return
            }
            var line = "\(provider) \(orderID): \(check.lastOutcome?.rawValue ?? "-")"
            if let answer = check.lastAnswerEventID, check.lastOutcome == .answered { line += " (\(answer.rawValue))" }
            if let error = check.lastError { line += ": \(error)" }
            if let due = check.dueAt { line += "; next check \(due.rfc3339)" }
            print(TerminalText.escape(line))
        }
    }
}

extension CallbridgeConfig {
    /// The handler files of this config, read with the process environment.
    func loadHandlers() throws -> HandlerSet {
        do {
            return try HandlerDirectoryLoader(directory: handlersDirectory, secrets: SecretSource(environment: ProcessEnvironment.variables)).load()
        } catch {
            throw CLIError("cannot load the handler files: \(error)")
        }
    }
}
