import CallbridgeModel
import Testing

/// Timestamps and durations built from outside values never trap, and every
/// timestamp renders to text that parses back to itself.
@Suite struct CheckedTimeTests {
    @Test("the range edges render with four-digit years and parse back", arguments: [
        Timestamp.validRange.lowerBound, Timestamp.validRange.upperBound, 0, -1, 1_795_428_000_123,
    ])
    func edgesRoundTrip(milliseconds: Int64) throws {
        let ts = try #require(Timestamp(exactlyMilliseconds: milliseconds))
        #expect(ts.rfc3339.hasPrefix("-") == false)
        #expect(ts.rfc3339.split(separator: "-").first?.count == 4)
        #expect(Timestamp(rfc3339: ts.rfc3339) == ts)
    }

    @Test("plain initializers clamp into years 0001-9999 instead of trapping", arguments: [Int64.max, Int64.min, 999_999_999_999_999, -100_000_000_000_000_000])
    func clamps(value: Int64) {
        let fromMilliseconds = Timestamp(millisecondsSinceEpoch: value)
        let fromSeconds = Timestamp(secondsSinceEpoch: value)
        #expect(Timestamp.validRange.contains(fromMilliseconds.millisecondsSinceEpoch))
        #expect(Timestamp.validRange.contains(fromSeconds.millisecondsSinceEpoch))
        #expect(Timestamp(rfc3339: fromSeconds.rfc3339) == fromSeconds)
    }

    @Test("exact initializers refuse instants outside the range, also when the multiplication would overflow")
    func exactRefuses() {
        #expect(Timestamp(exactlySeconds: -100_000_000_000_000_000) == nil)
        #expect(Timestamp(exactlySeconds: 999_999_999_999_999) == nil)  // year 33658
        #expect(Timestamp(exactlySeconds: Int64.max) == nil)
        #expect(Timestamp(exactlyMilliseconds: Timestamp.validRange.upperBound + 1) == nil)
        #expect(Timestamp(exactlySeconds: 1_795_428_000)?.rfc3339 == "2026-11-23T10:00:00Z")
    }

    @Test("RFC 3339 outside the range is refused: year 0000, or an offset across an edge")
    func parseRefusesOutside() {
        #expect(Timestamp(rfc3339: "0000-12-31T23:59:59Z") == nil)
        #expect(Timestamp(rfc3339: "0001-01-01T00:30:00+01:00") == nil)
        #expect(Timestamp(rfc3339: "9999-12-31T23:30:00-01:00") == nil)
        #expect(Timestamp(rfc3339: "0001-01-01T00:00:00Z") == Timestamp.earliest)
    }

    @Test("adding saturates at the range's end")
    func addingSaturates() {
        #expect(Timestamp.latest.adding(milliseconds: .max) == .latest)
        #expect(Timestamp.earliest.adding(milliseconds: .min) == .earliest)
        #expect(Timestamp(secondsSinceEpoch: 10).adding(milliseconds: 500).millisecondsSinceEpoch == 10_500)
    }

    @Test("durations longer than 36500 days are refused; sums that overflow too")
    func durationBound() {
        #expect(ConfigDuration(parsing: "36500d")?.milliseconds == ConfigDuration.maximum.milliseconds)
        #expect(ConfigDuration(parsing: "36501d") == nil)
        #expect(ConfigDuration(parsing: "106751991167d") == nil)
        #expect(ConfigDuration(parsing: "9223372036854775807ms") == nil)
        #expect(ConfigDuration.seconds(.max) == ConfigDuration.maximum)
    }

    @Test("saturating and checked helpers")
    func helpers() {
        #expect(Int64.max.saturatingAdding(1) == .max)
        #expect(Int64.min.saturatingAdding(-1) == .min)
        #expect(Int64.min.saturatingSubtracting(1) == .min)
        #expect(Int64(-3).saturatingMultiplied(by: .max) == .min)
        #expect(Int64(3_000_000_000_000_000_000).checkedMultiplied(by: 4) == nil)
        #expect(Int64(7).checkedAdding(5) == 12)
        #expect(Int64(saturating: Double.infinity) == .max)
        #expect(Int64(saturating: -Double.infinity) == .min)
        #expect(Int64(saturating: Double.nan) == 0)
        #expect(Int(saturating: 2.9) == 2)
    }
}
