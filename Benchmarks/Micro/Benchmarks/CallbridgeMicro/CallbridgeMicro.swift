import Benchmark
import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import Foundation

// Each benchmark runs one hot-path step on a provider's documented sample
// (the fixtures under Tests/CallbridgeHandlersTests/Fixtures, whose SOURCES.md
// names where each comes from). The `reference:` benchmarks do comparable
// work with Foundation in the same run, so scripts/bench-micro.sh can print
// ratios that mean the same on any machine.

let benchmarks: @Sendable () -> Void = {
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        warmupIterations: 100,
        maxDuration: .seconds(2),
        maxIterations: 200_000
    )
    Benchmark.defaultConfiguration = configuration

    // Inputs are built here, once: a benchmark's closure is measured whole,
    // so anything set up inside it would be counted in every sample.
    let juspay = Samples.fixture("juspay/order_succeeded.json")
    let withCard = Samples.fixture("nonstopay/invoice_paid_with_card.json")
    let juspayData = Data(juspay)
    let request = Samples.juspayWebhook(body: juspay)
    let event = Samples.juspayEvent(body: juspay)  // accepted and verified, or the run stops here
    let envelope = event.envelopeBytes
    let parsedJuspay = Samples.parse(juspay)
    let parsedWithCard = Samples.parse(withCard)
    let foundationJuspay = Samples.foundationObject(juspay)

    Benchmark("reference: Foundation JSONSerialization parse (Juspay webhook)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONSerialization.jsonObject(with: juspayData))
        }
    }

    Benchmark("parse: JSONParser (Juspay webhook)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONParser().parse(juspay))
        }
    }

    Benchmark("normalize: Juspay webhook (verify, extract, map, mask, redact)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Normalizer().normalize(
                route: request.route, raw: request.raw, pathParameters: [:], eventID: Samples.eventID, now: Samples.now
            ))
        }
    }

    Benchmark("mask: body without card data (Juspay webhook)") { benchmark in
        let masker = CardDataMasker()
        for _ in benchmark.scaledIterations {
            blackHole(masker.maskBody(juspay, format: .json, parsedJSON: parsedJuspay))
        }
    }

    Benchmark("mask: body with a card number (NonStoPay invoice)") { benchmark in
        let masker = CardDataMasker()
        for _ in benchmark.scaledIterations {
            blackHole(masker.maskBody(withCard, format: .json, parsedJSON: parsedWithCard))
        }
    }

    Benchmark("reference: Foundation JSONSerialization render (Juspay webhook)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONSerialization.data(withJSONObject: foundationJuspay.value))
        }
    }

    Benchmark("render: event envelope (Juspay webhook)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(event.envelopeBytes)
        }
    }

    Benchmark("render: JSONValue (Juspay webhook)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(parsedJuspay.renderedBytes())
        }
    }

    Benchmark("sign: Standard Webhooks HMAC-SHA256 (envelope)") { benchmark in
        let key = Array(repeating: UInt8(0x5A), count: 24)
        for _ in benchmark.scaledIterations {
            blackHole(StandardWebhooksSignature.sign(key: key, id: Samples.eventID.rawValue, timestamp: 1_795_428_000, body: envelope))
        }
    }
}

/// The inputs: fixtures read from the checkout, the shipped Juspay handler
/// loaded with test credentials, a request signed the way Juspay signs it.
enum Samples {
    static let now = Timestamp(secondsSinceEpoch: 1_795_428_000)
    static let eventID = EventID.generate(millisecondsSinceEpoch: 1_795_428_000_000)
    static let username = "bench-user"
    static let password = "bench-password"

    /// The repository root, from this file's place in it.
    static let root: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(5)  // Benchmarks/Micro/Benchmarks/CallbridgeMicro/CallbridgeMicro.swift
        return parts.joined(separator: "/")
    }()

    static func fixture(_ name: String) -> [UInt8] {
        let path = root + "/Tests/CallbridgeHandlersTests/Fixtures/" + name
        guard let data = FileManager.default.contents(atPath: path) else { fatalError("missing fixture \(path)") }
        return Array(data)
    }

    static let handlers: HandlerSet = {
        let environment = ["JUSPAY_WEBHOOK_USERNAME": username, "JUSPAY_WEBHOOK_PASSWORD": password]
        do {
            return try HandlerDirectoryLoader(
                directory: root + "/handlers", secrets: SecretSource(environment: environment, readFile: { _ in nil })
            ).load()
        } catch {
            fatalError("the shipped handlers do not load: \(error)")
        }
    }()

    static func juspayWebhook(body: [UInt8]) -> (route: Route, raw: RawRequest) {
        guard case .route(let route, _) = handlers.match(method: "POST", path: "/juspay/webhook") else {
            fatalError("no /juspay/webhook route")
        }
        let token = ByteEncoding.base64(Array("\(username):\(password)".utf8))
        let raw = RawRequest(
            method: "POST", path: "/juspay/webhook", query: "",
            headers: [
                HeaderField(name: "Content-Type", value: "application/json"),
                HeaderField(name: "Authorization", value: "Basic \(token)"),
                HeaderField(name: "User-Agent", value: "Juspay-Webhook/1.0"),
            ],
            body: body, remoteAddress: "203.0.113.10", receivedAt: now
        )
        return (route, raw)
    }

    static func juspayEvent(body: [UInt8]) -> Event {
        let request = juspayWebhook(body: body)
        let decision: Normalizer.Decision
        do {
            decision = try Normalizer().normalize(route: request.route, raw: request.raw, pathParameters: [:], eventID: eventID, now: now)
        } catch {
            fatalError("the sample was refused: \(error)")
        }
        guard case .accept(let normalized) = decision else { fatalError("the sample was not accepted") }
        guard normalized.event.data.verified else { fatalError("the sample did not verify") }
        return normalized.event
    }

    static func parse(_ bytes: [UInt8]) -> JSONValue {
        do { return try JSONParser().parse(bytes) } catch { fatalError("a sample is not JSON: \(error)") }
    }

    /// Foundation's parse of a sample, boxed so the benchmarks' closures may capture it.
    static func foundationObject(_ bytes: [UInt8]) -> UncheckedBox {
        do { return UncheckedBox(value: try JSONSerialization.jsonObject(with: Data(bytes))) } catch { fatalError("a sample is not JSON: \(error)") }
    }

    /// Read-only after construction; only the render reference reads it.
    struct UncheckedBox: @unchecked Sendable { let value: Any }
}
