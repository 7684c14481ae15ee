import CallbridgeModel
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler writing one JSON object per line (`serve --log-format json`):
/// `{"timestamp": RFC 3339 UTC, "level", "message", "label", "metadata": {…}}`,
/// metadata merged from the logger, its provider and the call, the call's
/// values winning. Values are rendered as JSON strings, arrays and objects.
///
/// It writes what it is given: keeping secrets and card numbers out of logs
/// is the callers' rule (they log ids, codes and counts, never bodies or headers).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    private let write: @Sendable (String) -> Void
    private let clock: @Sendable () -> Timestamp

    /// - Parameter write: receives each line without its newline; the default writes it to standard output.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil,
                clock: @escaping @Sendable () -> Timestamp = SystemClock.now,
                write: @escaping @Sendable (String) -> Void = JSONLogHandler.writeToStandardOutput) {
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
        let line = JSONValue.object([
            ("timestamp", .string(clock().rfc3339)),
            ("level", .string(event.level.rawValue)),
            ("message", .string(event.message.description)),
            ("label", .string(label)),
            ("metadata", .object(merged.sorted { $0.key < $1.key }.map { ($0.key, Self.json($0.value)) })),
        ]).renderedBytes()
        write(String(decoding: line, as: UTF8.self))
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): return .string(text)
        case .stringConvertible(let convertible): return .string(convertible.description)
        case .array(let values): return .array(values.map(json))
        case .dictionary(let values): return .object(values.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) })
        }
    }

    /// Writes `line` and a newline to file descriptor 1 in one `write(2)`, so
    /// lines from concurrent tasks never interleave.
    public static let writeToStandardOutput: @Sendable (String) -> Void = { line in
        writeLogLine(line, to: 1)
    }
}

/// Writes `line` and a newline to `descriptor` in one `write(2)` where the
/// kernel takes it whole, so lines from concurrent tasks never interleave.
func writeLogLine(_ line: String, to descriptor: Int32) {
    var bytes = Array(line.utf8)
    bytes.append(UInt8(ascii: "\n"))
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written <= 0 { return }
        offset += written
    }
}
