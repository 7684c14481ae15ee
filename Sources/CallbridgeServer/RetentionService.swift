import CallbridgeModel
import CallbridgeStore
import Logging
import ServiceLifecycle

/// Deletes events older than `retention.days` that have nothing left to
/// deliver, once at start-up and then every `interval`, until graceful
/// shutdown. Never deletes anything undelivered (see `RetentionLog`).
public struct RetentionService: Service {
    public let log: any EventLog
    public let days: Int
    public let interval: Duration
    public let logger: Logger
    public let clock: @Sendable () -> Timestamp

    public init(log: any EventLog, days: Int, interval: Duration = .seconds(3600), logger: Logger, clock: @escaping @Sendable () -> Timestamp = SystemClock.now) {
        self.log = log
        self.days = days
        self.interval = interval
        self.logger = logger
        self.clock = clock
    }

    /// The cut-off for `now`: events received before it may go.
    public static func cutoff(days: Int, now: Timestamp) -> Timestamp {
        now.adding(milliseconds: -Int64(days) * 86_400_000)
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let deleted = try await log.prune(before: RetentionService.cutoff(days: days, now: clock()), batchSize: 1000)
                if deleted > 0 { logger.info("retention deleted delivered events", metadata: ["count": "\(deleted)", "days": "\(days)"]) }
            } catch {
                logger.error("retention run failed; will retry", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
