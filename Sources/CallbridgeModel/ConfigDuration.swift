/// A length of time as written in configuration: `500ms`, `5s`, `5m`, `2h`,
/// `1d`, or a sum such as `1h30m`. Bare numbers are refused so that a unit is
/// never guessed, and so is anything longer than `maximum`.
///
/// Invariant: `milliseconds` lies in 0...`maximum.milliseconds` (100 years),
/// so sums and doublings of durations (a lease is a timeout plus a margin, a
/// `Retry-After` is honoured up to twice the scheduled delay) cannot overflow.
public struct ConfigDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let milliseconds: Int64

    /// The longest duration anything accepts: 36,500 days.
    public static let maximum = ConfigDuration(milliseconds: 36_500 * 86_400_000)

    /// Clamps into 0...`maximum`.
    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds.clamped(to: 0...(36_500 * 86_400_000))
    }

    public static func seconds(_ s: Int64) -> ConfigDuration { ConfigDuration(milliseconds: s.saturatingMultiplied(by: 1000)) }

    public init?(parsing text: String) {
        let s = Array(text.trimmingSpaces().utf8)
        guard !s.isEmpty else { return nil }
        var total: Int64 = 0
        var i = 0
        while i < s.count {
            var value: Int64 = 0
            let start = i
            while i < s.count, s[i] >= 0x30, s[i] <= 0x39 {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(s[i] - 0x30))
                guard !o1, !o2 else { return nil }
                value = a
                i += 1
            }
            guard i > start else { return nil }
            let unitStart = i
            while i < s.count, s[i] >= 0x61, s[i] <= 0x7A { i += 1 }
            let unit = String(decoding: s[unitStart..<i], as: UTF8.self)
            let factor: Int64
            switch unit {
            case "ms": factor = 1
            case "s": factor = 1000
            case "m": factor = 60_000
            case "h": factor = 3_600_000
            case "d": factor = 86_400_000
            default: return nil
            }
            let (p, o) = value.multipliedReportingOverflow(by: factor)
            let (sum, o3) = total.addingReportingOverflow(p)
            guard !o, !o3 else { return nil }
            total = sum
        }
        guard total <= ConfigDuration.maximum.milliseconds else { return nil }
        self.milliseconds = total
    }

    public var seconds: Double { Double(milliseconds) / 1000 }

    public static func < (a: ConfigDuration, b: ConfigDuration) -> Bool { a.milliseconds < b.milliseconds }

    /// The shortest exact spelling: `5m`, `1500ms`, `2h`.
    public var description: String {
        let units: [(Int64, String)] = [(86_400_000, "d"), (3_600_000, "h"), (60_000, "m"), (1000, "s")]
        for (factor, unit) in units where milliseconds >= factor && milliseconds % factor == 0 {
            return "\(milliseconds / factor)\(unit)"
        }
        return "\(milliseconds)ms"
    }
}

extension ConfigDuration {
    /// Whether a signed timestamp (Unix seconds, taken from a request and so
    /// untrusted) lies within this tolerance of `now`. Absurd values are simply
    /// outside the window: the arithmetic never overflows.
    public func admits(unixSeconds timestamp: Int64, now: Timestamp) -> Bool {
        let (difference, overflow) = now.secondsSinceEpoch.subtractingReportingOverflow(timestamp)
        guard !overflow else { return false }
        return difference.magnitude <= UInt64(milliseconds / 1000)
    }
}
