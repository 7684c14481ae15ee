import ArgumentParser
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeServer
import CallbridgeStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `callbridge replay`: send stored events again with the same webhook-id.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Send stored events again, with the same webhook-id.",
        discussion: """
            Select by --event (repeatable) or by --since/--until/--provider/--type/--endpoint/--state.
            With --state, each selected delivery is replayed to its own endpoint; otherwise --endpoint names
            the target, or every endpoint whose filters match gets one. A running server picks replays up within
            dispatch.poll_interval.
            """
    )

    @OptionGroup var options: ConfigOption
    @Option(name: .customLong("event"), help: "An event id (repeatable).") var events: [String] = []
    @Option(help: "Events received at or after this time: RFC 3339 or relative like 2h, 30m, 1d.") var since: String?
    @Option(help: "Events received before this time: RFC 3339 or relative.") var until: String?
    @Option(help: "Only this provider.") var provider: String?
    @Option(help: "Only this event type.") var type: String?
    @Option(help: "Only this endpoint (the target, or whose deliveries --state selects).") var endpoint: String?
    @Option(help: "Only events with a delivery in this state: dead, failed or succeeded.") var state: String?
    @Flag(help: "Run the stored raw request through today's handler first (new revision, same id).") var renormalize = false
    @Flag(help: "Only count what would be replayed.") var dryRun = false

    func validate() throws {
        let selectors: [Any?] = [since, until, provider, type, endpoint, state]
        if events.isEmpty && selectors.allSatisfy({ $0 == nil }) {
            throw ValidationError("choose what to replay: --event ID, or --since/--until/--provider/--type/--endpoint/--state")
        }
        if let type, EventType(rawValue: type) == nil { throw ValidationError("unknown event type '\(type)'") }
        if let state, ReplayState(rawValue: state) == nil { throw ValidationError("--state must be dead, failed or succeeded") }
        for id in events where EventID(id) == nil { throw ValidationError("'\(id)' is not an event id (evt_…)") }
    }

    func run() async throws {
        let config = try options.load(requireSecrets: false)
        let now = SystemClock.now()
        let selection = ReplaySelection(
            eventIDs: events.compactMap(EventID.init), since: try since.map { try ReplayCommand.time($0, now: now, option: "--since") },
            until: try until.map { try ReplayCommand.time($0, now: now, option: "--until") }, provider: provider,
            type: type.flatMap(EventType.init(rawValue:)), endpoint: endpoint, state: state.flatMap(ReplayState.init(rawValue:))
        )
        var handlers: HandlerSet?
        if renormalize {
            do {
                handlers = try HandlerDirectoryLoader(directory: config.handlersDirectory, secrets: SecretSource(environment: ProcessEnvironment.variables)).load()
            } catch {
                throw CLIError("handler files are invalid:\n\(error)")
            }
        }
        let started = SystemClock.now()
        let showProgress = isatty(STDERR_FILENO) == 1 && !dryRun
        let result: ReplayService.Progress
        do {
            result = try await LogAccess.withLog(config, readOnly: false) { [dryRun, renormalize, handlers] log in
                let service = ReplayService(log: log, endpoints: config.endpoints, handlers: handlers)
                return try await service.run(selection, options: .init(renormalize: renormalize, dryRun: dryRun)) { progress in
                guard showProgress, progress.total > 0 else { return }
                let elapsed = max(0.001, Double(SystemClock.now().millisecondsSinceEpoch - started.millisecondsSinceEpoch) / 1000)
                let rate = Double(progress.events) / elapsed
                let eta = rate > 0 ? Int(saturating: Double(progress.total - progress.events) / rate) : 0
                let line = "\r\(progress.events)/\(progress.total) events, \(progress.deliveries) deliveries, \(Int(saturating: rate))/s, ETA \(eta)s   "
                ReplayCommand.writeToStandardError(line)
                }
            }
        } catch let failure as ReplayService.Failure {
            throw CLIError(failure.description)
        }
        if showProgress { ReplayCommand.writeToStandardError("\n") }
        let verb = dryRun ? "would replay" : "replayed"
        print("\(verb) \(result.events) event(s) as \(result.deliveries) new deliver\(result.deliveries == 1 ? "y" : "ies")"
              + (renormalize ? "; \(result.renormalized) re-normalized (\(result.typeChanges) changed type)" : ""))
        if result.orderChangeCount > 0 {
            print("\(result.orderChangeCount) re-normalized event(s) changed their place in their order's story:")
            for change in result.orderChanges { print(TerminalText.escape("  " + change.summary)) }
            if result.orderChangeCount > result.orderChanges.count { print("  … and \(result.orderChangeCount - result.orderChanges.count) more") }
        }
        for name in result.unknownEndpoints.sorted() { print("skipped endpoint \(name): not in \(config.file)") }
        for route in result.missingRoutes.sorted() { print("not re-normalized: route \(route) is not in the handler files") }
    }

    /// Progress goes to standard error so standard output stays the summary.
    static func writeToStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    /// RFC 3339, or a duration ago (`2h`, `30m`, `1d`).
    static func time(_ text: String, now: Timestamp, option: String) throws -> Timestamp {
        if let absolute = Timestamp(rfc3339: text) { return absolute }
        if let ago = ConfigDuration(parsing: text) { return now.adding(milliseconds: -ago.milliseconds) }
        throw ValidationError("\(option) must be RFC 3339 (2026-11-23T10:00:00Z) or relative (2h, 30m, 1d)")
    }
}
