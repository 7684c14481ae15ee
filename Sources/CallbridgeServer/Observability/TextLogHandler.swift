import CallbridgeModel
import Logging

/// The swift-log handler of `serve --log-format text` (the default): one
/// line per entry on standard error,
/// `TIMESTAMP LEVEL LABEL: key=value … [SOURCE] MESSAGE`, keys sorted, the
/// timestamp RFC 3339 UTC to the millisecond.
///
/// Why not swift-log's `StreamLogHandler`: it renders the whole metadata
/// text again on every metadata change, and ingest changes a request's
/// logger metadata several times (request id, route) whether or not a line
/// is ever written; in a profile under load that was about 8 % of the
/// process. This handler keeps metadata as a dictionary and renders it only
/// when a line is written.
///
/// Invariant: as `JSONLogHandler`, it writes what it is given; keeping
/// secrets and card numbers out of logs is the callers' rule.
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    private let write: @Sendable (String) -> Void
    private let clock: @Sendable () -> Timestamp

    /// - Parameter write: receives each line without its newline; the default writes it to standard error.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil,
                clock: @escaping @Sendable () -> Timestamp = SystemClock.now,
                write: @escaping @Sendable (String) -> Void = TextLogHandler.writeToStandardError) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.clock = clock
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let call = event.metadata { merged.merge(call) { $1 } }
        var line = clock().rfc3339 + " " + event.level.rawValue + " " + label + ":"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " " + key + "=" + value.description
        }
        line += " [" + event.source + "] " + event.message.description
        write(line)
    }

    /// Writes `line` and a newline to file descriptor 2 in one `write(2)`.
    public static let writeToStandardError: @Sendable (String) -> Void = { line in
        writeLogLine(line, to: 2)
    }
}
