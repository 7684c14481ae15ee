import CallbridgeModel
import ArgumentParser
import CallbridgeServer
import CallbridgeStore

/// `callbridge prune`: apply `retention.days` now (or show what it would do).
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete events older than retention.days whose deliveries all succeeded (nothing undelivered is ever deleted)."
    )
    @OptionGroup var options: ConfigOption
    @Option(help: "Override retention.days.") var days: Int?
    @Flag(help: "Only count what would be deleted.") var dryRun = false

    func run() async throws {
        let config = try options.load(requireSecrets: false)
        guard let days = days ?? config.retentionDays else {
            throw CLIError("no retention configured: set retention.days in \(config.file) or pass --days N")
        }
        guard days >= 1 else { throw ValidationError("--days must be at least 1") }
        let cutoff = RetentionService.cutoff(days: days, now: SystemClock.now())
        if dryRun {
            let count = try await LogAccess.withLog(config, readOnly: true) { log in try await log.prunableCount(before: cutoff) }
            print("would delete \(count) event(s) received before \(cutoff.rfc3339)")
        } else {
            let count = try await LogAccess.withLog(config, readOnly: false) { log in try await log.prune(before: cutoff, batchSize: 1000) }
            print("deleted \(count) event(s) received before \(cutoff.rfc3339)")
        }
    }
}
