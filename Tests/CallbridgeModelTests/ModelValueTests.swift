import CallbridgeModel
import CallbridgeTestSupport
import Testing

@Suite("EventID")
struct EventIDTests {
    static let crockford = Set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    @Test("a generated id is evt_ followed by 26 Crockford base32 characters")
    func format() {
        let id = EventID.generate(millisecondsSinceEpoch: 1_795_428_000_000)
        #expect(id.rawValue.hasPrefix("evt_"))
        let body = id.rawValue.dropFirst(4)
        #expect(body.count == 26)
        #expect(body.allSatisfy { Self.crockford.contains($0) })
        #expect(id.description == id.rawValue)
    }

    @Test("the id encodes its creation millisecond, which can be read back")
    func timeReadBack() {
        for ms: UInt64 in [0, 1, 1_795_428_000_000, 1_795_428_000_001, 0xFFFF_FFFF_FFFF] {
            #expect(EventID.generate(millisecondsSinceEpoch: ms).millisecondsSinceEpoch == ms)
        }
    }

    @Test("ids sort in creation-time order across milliseconds whatever their random bits")
    func timeOrdering() {
        var rng = SplitMix64(state: 42)
        var previous = EventID.generate(millisecondsSinceEpoch: 1_795_428_000_000, using: &rng)
        for step in 1...2000 {
            let next = EventID.generate(millisecondsSinceEpoch: 1_795_428_000_000 + UInt64(step), using: &rng)
            #expect(previous < next)
            #expect(previous.rawValue < next.rawValue)
            previous = next
        }
        // Far-apart times too, including a carry into a higher digit.
        let a = EventID.generate(millisecondsSinceEpoch: 0x1F, using: &rng)
        let b = EventID.generate(millisecondsSinceEpoch: 0x20, using: &rng)
        #expect(a < b)
    }

    @Test("two ids generated in the same millisecond differ")
    func uniqueness() {
        var seen = Set<String>()
        for _ in 0..<1000 { seen.insert(EventID.generate(millisecondsSinceEpoch: 1_795_428_000_000).rawValue) }
        #expect(seen.count == 1000)
    }

    @Test("parsing a generated id round-trips to the same value")
    func parseRoundTrip() throws {
        var rng = SplitMix64(state: 7)
        for ms: UInt64 in [0, 1_795_428_000_000, 0xFFFF_FFFF_FFFF] {
            let id = EventID.generate(millisecondsSinceEpoch: ms, using: &rng)
            let parsed = try #require(EventID(id.rawValue))
            #expect(parsed == id)
            #expect(parsed.millisecondsSinceEpoch == ms)
        }
        #expect(EventID("evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C")?.rawValue == "evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C")
    }

    @Test("malformed ids are refused", arguments: [
        "", "evt_", "01JD2Q6N8S6M3W7X4Y5Z6A7B8C", "evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8", "evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8CD",
        "evt_01jd2q6n8s6m3w7x4y5z6a7b8c", "evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8I", "evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8U",
        "EVT_01JD2Q6N8S6M3W7X4Y5Z6A7B8C", "evt_81JD2Q6N8S6M3W7X4Y5Z6A7B8C", "ord_01JD2Q6N8S6M3W7X4Y5Z6A7B8C",
    ])
    func rejects(text: String) {
        #expect(EventID(text) == nil)
    }
}

@Suite("Timestamp")
struct TimestampTests {
    @Test("the epoch and a known instant render as RFC 3339 UTC")
    func render() {
        #expect(Timestamp(millisecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00Z")
        // 2026-11-23T10:00:00Z
        #expect(Timestamp(secondsSinceEpoch: 1_795_428_000).rfc3339 == "2026-11-23T10:00:00Z")
        #expect(Timestamp(millisecondsSinceEpoch: 1_795_428_000_123).rfc3339 == "2026-11-23T10:00:00.123Z")
        #expect(Timestamp(millisecondsSinceEpoch: 1_795_428_000_007).rfc3339 == "2026-11-23T10:00:00.007Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(secondsSinceEpoch: 951_782_400).rfc3339 == "2000-02-29T00:00:00Z")
    }

    @Test("RFC 3339 text parses to the instant it names", arguments: [
        ("2026-11-23T10:00:00Z", Int64(1_795_428_000_000)),
        ("2026-11-23t10:00:00z", 1_795_428_000_000),
        ("2026-11-23T10:00:00.123Z", 1_795_428_000_123),
        ("2026-11-23T10:00:00.5Z", 1_795_428_000_500),
        ("2026-11-23T15:30:00+05:30", 1_795_428_000_000),
        ("2026-11-23T05:00:00-05:00", 1_795_428_000_000),
        ("2026-11-23T10:00:00+00:00", 1_795_428_000_000),
        ("2026-11-23T10:00:00", 1_795_428_000_000),
        ("2026-11-23 10:00:00", 1_795_428_000_000),
        ("2026-11-24T00:00:00.250+14:00", 1_795_428_000_250),
        ("1970-01-01T00:00:00Z", 0),
        ("2000-02-29T00:00:00Z", 951_782_400_000),
    ])
    func parse(text: String, expected: Int64) throws {
        let ts = try #require(Timestamp(rfc3339: text))
        #expect(ts.millisecondsSinceEpoch == expected)
    }

    @Test("fractions with more than three digits are truncated to milliseconds", arguments: [
        ("2026-11-23T10:00:00.123456Z", Int64(1_795_428_000_123)),
        ("2026-11-23T10:00:00.999999999+00:00", 1_795_428_000_999),
        ("2026-11-23T10:00:00.1234", 1_795_428_000_123),
    ])
    func longFractions(text: String, expected: Int64) throws {
        let ts = try #require(Timestamp(rfc3339: text))
        #expect(ts.millisecondsSinceEpoch == expected)
    }

    @Test("a rendered timestamp parses back to the same instant")
    func roundTrip() {
        for ms: Int64 in [0, 1, 999, 1_795_428_000_000, 1_795_428_000_123, -86_400_001, 4_102_444_800_000] {
            let ts = Timestamp(millisecondsSinceEpoch: ms)
            #expect(Timestamp(rfc3339: ts.rfc3339) == ts)
        }
    }

    @Test("malformed date-times are refused", arguments: [
        "", "2026-11-23", "2026-11-23T10:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-11-32T00:00:00Z",
        "2026-11-23T24:00:00Z", "2026-11-23T10:60:00Z", "2026-11-23X10:00:00Z", "2026-11-23T10:00:00.Z",
        "2026-11-23T10:00:00+0530", "2026-11-23T10:00:00+05", "2026-11-23T10:00:00Zjunk", "26-11-23T10:00:00Z",
        "2026/11/23T10:00:00Z",
    ])
    func rejects(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test("seconds since epoch round down for instants before 1970")
    func floorSeconds() {
        #expect(Timestamp(millisecondsSinceEpoch: -1).secondsSinceEpoch == -1)
        #expect(Timestamp(millisecondsSinceEpoch: 1999).secondsSinceEpoch == 1)
    }
}

@Suite("DecimalAmount and CurrencyCode")
struct AmountTests {
    @Test("decimal amounts are accepted and normalized", arguments: [
        ("100", "100"), ("100.00", "100.00"), ("100,50", "100.50"), ("0.10", "0.10"), ("-5.5", "-5.5"),
        ("007.5", "7.5"), (" 49.90 ", "49.90"), ("+3", "3"), ("0", "0"), ("000", "0"),
    ])
    func accepts(raw: String, expected: String) throws {
        let amount = try #require(DecimalAmount(raw))
        #expect(amount.text == expected)
        #expect(amount.description == expected)
    }

    @Test("exponents, thousands separators and bare fractions are refused", arguments: [
        "1e3", "1E3", "1,000.00", "1.000,00", ".5", "5.", "", " ", "-", "abc", "1 000", "0x10", "١٢", "12.5.1", "--1", "Infinity",
    ])
    func rejects(raw: String) {
        #expect(DecimalAmount(raw) == nil)
    }

    @Test("currency codes are three letters, stored uppercase")
    func currency() {
        #expect(CurrencyCode("eur")?.code == "EUR")
        #expect(CurrencyCode(" USD ")?.code == "USD")
        #expect(CurrencyCode("EU") == nil)
        #expect(CurrencyCode("EURO") == nil)
        #expect(CurrencyCode("E1R") == nil)
        #expect(CurrencyCode("") == nil)
    }
}

@Suite("ConfigDuration")
struct ConfigDurationTests {
    @Test("durations with units parse to milliseconds", arguments: [
        ("500ms", Int64(500)), ("5s", 5000), ("5m", 300_000), ("2h", 7_200_000), ("1d", 86_400_000), ("1h30m", 5_400_000),
        ("1m30s250ms", 90_250), (" 10s ", 10_000), ("0s", 0),
    ])
    func parses(text: String, milliseconds: Int64) throws {
        let d = try #require(ConfigDuration(parsing: text))
        #expect(d.milliseconds == milliseconds)
    }

    @Test("bare numbers, unknown units and malformed text are refused", arguments: [
        "", "5", "5 s", "5S", "5sec", "s", "-5s", "1.5h", "5s5", "ms", "99999999999999999999s", "9223372036854775807d",
    ])
    func rejects(text: String) {
        #expect(ConfigDuration(parsing: text) == nil)
    }

    @Test("a sum that overflows is refused rather than trapping")
    func sumOverflow() {
        #expect(ConfigDuration(parsing: "9223372036854775807ms1ms") == nil)
        #expect(ConfigDuration(parsing: "100000000000d100000000000d") == nil)
    }

    @Test("description is the shortest exact spelling and parses back")
    func description() {
        #expect(ConfigDuration.seconds(300).description == "5m")
        #expect(ConfigDuration(milliseconds: 1500).description == "1500ms")
        #expect(ConfigDuration(milliseconds: 7_200_000).description == "2h")
        #expect(ConfigDuration(milliseconds: 0).description == "0ms")
        for ms: Int64 in [0, 1, 1500, 60_000, 5_400_000, 86_400_000 * 3] {
            let d = ConfigDuration(milliseconds: ms)
            #expect(ConfigDuration(parsing: d.description) == d)
        }
        #expect(ConfigDuration(parsing: "5s")! < ConfigDuration(parsing: "1m")!)
    }
}

@Suite struct AmbiguousValueTests {
    @Test func aCommaFollowedByThreeDigitsIsRefusedAsAmbiguous() {
        #expect(DecimalAmount("1,000") == nil)
        #expect(DecimalAmount("100,50")?.text == "100.50")
        #expect(DecimalAmount("1.000")?.text == "1.000")
    }

    @Test(arguments: ["2026-02-31T00:00:00Z", "2026-04-31T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-23T10:00:00+99:99", "2026-11-23T10:00:00+05:60"])
    func impossibleDatesAndOffsetsAreRefused(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func leapDaysAreAccepted() {
        #expect(Timestamp(rfc3339: "2028-02-29T12:00:00Z") != nil)
    }
}
