import CallbridgeHandlers
import CallbridgeModel

/// `Timestamp(rfc3339:)`, `Timestamp.rfc3339` and `Normalizer.parseTime`. The
/// input is one date-time text. What parses renders to RFC 3339 text that
/// parses back to the same instant; an integer is rendered as milliseconds; and
/// the text goes through a one-route handler as `occurred_at` (as a JSON string
/// and, when it is a number literal, as a number) so that `parseTime` runs the
/// way ingest runs it, with the event envelope read back.
enum TimestampFuzz {
    static let now = Timestamp(secondsSinceEpoch: 1_795_428_000)
    /// 0000-01-01T00:00:00Z ... 9999-12-31T23:59:59.999Z in milliseconds.
    static let representable: ClosedRange<Int64> = -62_167_219_200_000...253_402_300_799_999

    /// A redirect route that takes `occurred_at` from `json:t` and needs no secret.
    static let route: Route = {
        let yaml = """
            provider: fuzz
            routes:
              - name: time
                path: /fuzz/time
                methods: [POST]
                channel: redirect
                format: json
                verify: {type: none}
                fields:
                  occurred_at: json:t
                type:
                  from: [json:t]
                  map: {}
                landing: "https://shop.example.com/checkout/{order_id}?result={outcome}"
            """
        do {
            let handler = try HandlerFileLoader(secrets: SecretSource(environment: [:], readFile: { _ in nil })).load(yaml: yaml, file: "fuzz-time.yaml")
            return handler.routes[0]
        } catch {
            fatalError("the timestamp fuzz handler does not load: \(error)")
        }
    }()

    static func run(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        if let parsed = Timestamp(rfc3339: text) {
            roundTrips(parsed, "Timestamp(rfc3339: \(describe(text)))")
        }
        if let n = Int64(text) {
            // Any instant renders without trapping; RFC 3339 has four-digit
            // years, so only 0000–9999 must parse back.
            let t = Timestamp(millisecondsSinceEpoch: n)
            _ = t.rfc3339
            if representable.contains(n) { roundTrips(t, "Timestamp(millisecondsSinceEpoch: \(n))") }
        }
        viaNormalizer(.string(text), text)
        if let number = try? JSONParser().parse(bytes), case .number = number {
            viaNormalizer(number, text)
        }
    }

    static func roundTrips(_ t: Timestamp, _ origin: @autoclosure () -> String) {
        let rendered = t.rfc3339
        let back = Timestamp(rfc3339: rendered)
        invariant(back == t, "\(origin()) renders as \(rendered), which parses to \(back.map { "\($0.millisecondsSinceEpoch) ms" } ?? "nothing") instead of \(t.millisecondsSinceEpoch) ms")
    }

    static func viaNormalizer(_ value: JSONValue, _ text: String) {
        let body = JSONValue.object([("t", value)]).renderedBytes()
        let raw = RawRequest(
            method: "POST", path: "/fuzz/time", query: "", headers: [HeaderField(name: "content-type", value: "application/json")],
            body: body, remoteAddress: "203.0.113.10", receivedAt: now
        )
        let eventID = EventID.generate(millisecondsSinceEpoch: UInt64(now.millisecondsSinceEpoch))
        guard case .accept(let normalized)? = try? Normalizer().normalize(route: route, raw: raw, pathParameters: [:], eventID: eventID, now: now) else {
            invariant(false, "a JSON body with t = \(describe(text)) was refused")
            return
        }
        if let occurred = normalized.event.data.occurredAt {
            roundTrips(occurred, "occurred_at \(describe(text))")
        }
        EventChecks.readsBack(normalized.event, origin: "occurred_at \(describe(text))")
    }
}

/// Checks on a normalized event shared by the route and timestamp targets.
enum EventChecks {
    /// The envelope as stored and POSTed parses, decodes as an `Event` and
    /// renders to the same bytes again, so the log can read back what it wrote.
    static func readsBack(_ event: Event, origin: @autoclosure () -> String) {
        let bytes = event.envelopeBytes
        let decoded: Event
        do {
            decoded = try Event(envelopeBytes: bytes)
        } catch {
            invariant(false, "\(origin()): the event envelope does not read back (\(error)): \(describe(String(decoding: bytes, as: UTF8.self)))")
            return
        }
        invariant(decoded.envelopeBytes == bytes, "\(origin()): the envelope read back renders differently")
        invariant(event.data.verified == (event.data.verification != .none), "\(origin()): verified is \(event.data.verified) with verification \(event.data.verification)")
    }
}
