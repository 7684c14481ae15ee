/// An instant in UTC with millisecond precision, rendered as RFC 3339
/// (`2026-11-23T10:00:00Z`, with `.mmm` only when the milliseconds are not zero).
///
/// Kept as an integer so that ordering, storage and rendering never depend on
/// locale, calendar settings or floating point.
///
/// Invariant: the instant lies in `Timestamp.validRange`, years 0001 to 9999,
/// the years RFC 3339 can write. So every timestamp renders with a 4-digit
/// year and parses back to itself, and nothing stored can make the log
/// unreadable. The plain initializers and `adding` clamp into the range (a
/// clock, a delay); the `exactly` initializers refuse instead (a time a
/// provider claims, which must not be silently changed).
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let millisecondsSinceEpoch: Int64

    /// `0001-01-01T00:00:00Z` through `9999-12-31T23:59:59.999Z`, in milliseconds since the epoch.
    public static let validRange: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999
    public static let earliest = Timestamp(millisecondsSinceEpoch: validRange.lowerBound)
    public static let latest = Timestamp(millisecondsSinceEpoch: validRange.upperBound)

    /// Clamps into `validRange`.
    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch.clamped(to: Timestamp.validRange)
    }

    /// Clamps into `validRange`.
    public init(secondsSinceEpoch: Int64) {
        self.init(millisecondsSinceEpoch: secondsSinceEpoch.saturatingMultiplied(by: 1000))
    }

    /// Nil when the instant is outside `validRange`.
    public init?(exactlyMilliseconds milliseconds: Int64) {
        guard Timestamp.validRange.contains(milliseconds) else { return nil }
        self.millisecondsSinceEpoch = milliseconds
    }

    /// Nil when the instant is outside `validRange` (checked before any multiplication).
    public init?(exactlySeconds seconds: Int64) {
        guard let milliseconds = seconds.checkedMultiplied(by: 1000) else { return nil }
        self.init(exactlyMilliseconds: milliseconds)
    }

    public var secondsSinceEpoch: Int64 { millisecondsSinceEpoch.floorDiv(1000) }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSinceEpoch < b.millisecondsSinceEpoch }

    /// Saturates: a delay too long for the calendar ends at `latest`.
    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch.saturatingAdding(milliseconds))
    }

    /// Milliseconds from `other` to `self` (negative when `other` is later); cannot overflow inside `validRange`.
    public func milliseconds(since other: Timestamp) -> Int64 {
        millisecondsSinceEpoch - other.millisecondsSinceEpoch
    }

    /// RFC 3339 in UTC.
    public var rfc3339: String {
        let seconds = secondsSinceEpoch
        let millis = Int(millisecondsSinceEpoch - seconds * 1000)
        let days = seconds.floorDiv(86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (y, m, d) = Timestamp.civil(fromDays: days)
        var s = pad(Int(y), 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
        s += "T" + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
        if millis != 0 { s += "." + pad(millis, 3) }
        return s + "Z"
    }

    public var description: String { rfc3339 }

    /// Parses RFC 3339 / ISO 8601 date-times such as `2026-11-23T09:59:58Z`,
    /// `2026-11-23T09:59:58.123+05:30` or `2026-11-23 09:59:58` (taken as UTC).
    /// Nil for anything else, and for instants outside `validRange`.
    public init?(rfc3339 text: String) {
        let b = Array(text.trimmingSpaces().utf8)
        func num(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var v = 0
            for i in start..<(start + count) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard b.count >= 19, let year = num(0, 4), b[4] == UInt8(ascii: "-"), let month = num(5, 2), b[7] == UInt8(ascii: "-"),
              let day = num(8, 2), b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              let hour = num(11, 2), b[13] == UInt8(ascii: ":"), let minute = num(14, 2), b[16] == UInt8(ascii: ":"),
              let second = num(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var millis = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if digits < 3 { millis = millis * 10 + Int(b[i] - 0x30) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        var offsetSeconds = 0
        if i == b.count {
            offsetSeconds = 0
        } else if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == UInt8(ascii: ":"), let om = num(i + 4, 2), om < 60 else { return nil }
            offsetSeconds = sign * (oh * 3600 + om * 60)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthLengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= monthLengths[month - 1], abs(offsetSeconds) <= 14 * 3600 else { return nil }
        let days = Timestamp.days(fromCivil: Int64(year), month, day)
        let secs = days * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59)) - Int64(offsetSeconds)
        // Year 0000, or an offset that moves 0001-01-01 / 9999-12-31 across the range's edge.
        self.init(exactlyMilliseconds: secs * 1000 + Int64(millis))
    }

    // Howard Hinnant's civil calendar algorithms (proleptic Gregorian).
    static func civil(fromDays z0: Int64) -> (Int64, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (m <= 2 ? y + 1 : y, m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int, _ d: Int) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(m > 2 ? m - 3 : m + 9)
        let doy = (153 * mp + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

extension Int64 {
    func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
