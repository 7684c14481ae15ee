import CallbridgeModel
import Foundation
import Testing

/// `callbridge simulate` against a live `callbridge serve`, for every shipped
/// provider, channel and scenario.
@Suite(.serialized) struct SimulateCommandTests {
    /// One supported combination and the event the server must record for it.
    struct Case {
        var provider: String
        var channel: String
        var scenario: String
        var type: String
        var route: String
        var verified: Bool
    }

    static let cases: [Case] = [
        Case(provider: "juspay", channel: "callback", scenario: "succeeded", type: "payment.succeeded", route: "webhook", verified: true),
        Case(provider: "juspay", channel: "callback", scenario: "failed", type: "payment.failed", route: "webhook", verified: true),
        Case(provider: "juspay", channel: "callback", scenario: "cancelled", type: "payment.cancelled", route: "webhook", verified: true),
        Case(provider: "juspay", channel: "callback", scenario: "refunded", type: "refund.succeeded", route: "webhook", verified: true),
        Case(provider: "juspay", channel: "redirect", scenario: "succeeded", type: "payment.succeeded", route: "return", verified: true),
        Case(provider: "juspay", channel: "redirect", scenario: "failed", type: "payment.failed", route: "return", verified: true),
        Case(provider: "juspay", channel: "redirect", scenario: "pending", type: "payment.pending", route: "return", verified: true),
        Case(provider: "juspay", channel: "redirect", scenario: "refunded", type: "refund.succeeded", route: "return", verified: true),
        Case(provider: "luxfin", channel: "redirect", scenario: "succeeded", type: "payment.succeeded", route: "return", verified: false),
        Case(provider: "luxfin", channel: "redirect", scenario: "failed", type: "payment.failed", route: "return", verified: false),
        Case(provider: "luxfin", channel: "redirect", scenario: "pending", type: "payment.pending", route: "return", verified: false),
        Case(provider: "luxfin", channel: "redirect", scenario: "cancelled", type: "payment.cancelled", route: "return", verified: false),
        Case(provider: "luxfin", channel: "callback", scenario: "succeeded", type: "payment.succeeded", route: "webhook", verified: true),
        Case(provider: "luxfin", channel: "callback", scenario: "pending", type: "payment.pending", route: "webhook", verified: true),
        Case(provider: "luxfin", channel: "callback", scenario: "failed", type: "payment.failed", route: "webhook", verified: true),
        Case(provider: "luxfin", channel: "callback", scenario: "cancelled", type: "payment.cancelled", route: "webhook", verified: true),
        Case(provider: "nonstopay", channel: "callback", scenario: "succeeded", type: "payment.succeeded", route: "callback", verified: true),
        Case(provider: "nonstopay", channel: "callback", scenario: "failed", type: "payment.failed", route: "callback", verified: true),
        Case(provider: "nonstopay", channel: "callback", scenario: "pending", type: "payment.pending", route: "callback", verified: true),
        Case(provider: "nonstopay", channel: "callback", scenario: "cancelled", type: "payment.cancelled", route: "callback", verified: true),
        Case(provider: "nonstopay", channel: "callback", scenario: "refunded", type: "refund.succeeded", route: "callback", verified: true),
        Case(provider: "nonstopay", channel: "redirect", scenario: "succeeded", type: "payment.succeeded", route: "return", verified: false),
        Case(provider: "nonstopay", channel: "redirect", scenario: "failed", type: "payment.failed", route: "return", verified: false),
        Case(provider: "nonstopay", channel: "redirect", scenario: "pending", type: "payment.pending", route: "return", verified: false),
        Case(provider: "nonstopay", channel: "redirect", scenario: "cancelled", type: "payment.cancelled", route: "return", verified: false),
    ]

    static func writeConfig(_ dir: String) throws {
        try """
        listen: {host: 127.0.0.1, port: 0}
        storage: {sqlite: ./data/callbridge.sqlite}
        handlers: \(repositoryRoot)/handlers
        """.write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
    }

    @Test func simulateProducesTheExpectedEventForEveryShippedHandlerAndScenario() async throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeConfig(dir)
        let server = try ServeProcess(config: "callbridge.yaml", directory: dir)
        try await server.waitUntilListening()
        let handlers = repositoryRoot + "/handlers"

        for (index, item) in Self.cases.enumerated() {
            let orderID = "sim-\(index)-\(item.provider)-\(item.scenario)"
            let result = try runCallbridge([
                "simulate", item.provider, item.scenario, "--to", "http://127.0.0.1:\(server.port)",
                "--channel", item.channel, "--order-id", orderID, "--handlers", handlers,
            ], directory: dir)
            #expect(result.status == 0, "\(item.provider) \(item.channel) \(item.scenario):\n\(result.output)")
            #expect(result.output.contains("expect: \(item.type)"), "\(result.output)")
            if item.provider == "juspay", item.route == "webhook" { #expect(result.output.contains("header: Authorization: [redacted]"), "\(result.output)") }
            if item.provider == "luxfin", item.route == "webhook" { #expect(result.output.contains("header: X-Luxfintech-Signature: [redacted]"), "\(result.output)") }
            if item.route == "callback" { #expect(result.output.contains("header: X-Signature: [redacted]"), "\(result.output)") }
            if item.channel == "callback" {
                #expect(result.output.contains("status: 200"), "\(result.output)")
                #expect(result.output.contains(#""status":"accepted""#), "\(result.output)")
            } else {
                #expect(result.output.contains("status: 303"), "\(result.output)")
                // Landed with the scenario's outcome, not `unknown` (a failed signature).
                #expect(result.output.contains("location: https://shop.example.com/checkout/\(orderID)?result="), "\(result.output)")
                #expect(!result.output.contains("result=unknown"), "\(result.output)")
            }
            for secret in providerSecrets.values {
                #expect(!result.output.contains(secret), "simulate printed a secret")
            }
        }

        let list = try runCallbridge(["events", "list", "--json", "--limit", "100"], directory: dir)
        #expect(list.status == 0, "\(list.output)")
        guard case .array(let events) = try JSONParser().parse(list.output.trimmingSpaces()) else {
            Issue.record("expected a JSON array: \(list.output)")
            return
        }
        #expect(events.count == Self.cases.count)
        for (index, item) in Self.cases.enumerated() {
            let orderID = "sim-\(index)-\(item.provider)-\(item.scenario)"
            let matching = events.filter { $0.value(atPath: "data.order_id") == .string(orderID) }
            #expect(matching.count == 1, "\(orderID): \(matching.count) events")
            guard let event = matching.first else { continue }
            #expect(event["type"] == .string(item.type), "\(orderID)")
            #expect(event.value(atPath: "data.provider") == .string(item.provider), "\(orderID)")
            #expect(event.value(atPath: "data.route") == .string(item.route), "\(orderID)")
            #expect(event.value(atPath: "data.channel") == .string(item.channel), "\(orderID)")
            #expect(event.value(atPath: "data.verified") == .bool(item.verified), "\(orderID)")
        }
        #expect(try await server.terminate() == 0, "\(server.output)")
    }

    @Test func defaultChannelAndFreshIdsPerRun() async throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.writeConfig(dir)
        let server = try ServeProcess(config: "callbridge.yaml", directory: dir)
        try await server.waitUntilListening()
        let arguments = ["simulate", "juspay", "succeeded", "--to", "http://127.0.0.1:\(server.port)", "--config", "callbridge.yaml"]
        let first = try runCallbridge(arguments, directory: dir)
        let second = try runCallbridge(arguments, directory: dir)
        #expect(first.status == 0, "\(first.output)")
        #expect(second.status == 0, "\(second.output)")
        #expect(first.output.contains("via callback (route juspay/webhook)"))
        // Two runs are two events, not a duplicate.
        #expect(first.output.contains(#""status":"accepted""#) && second.output.contains(#""status":"accepted""#))
        let list = try runCallbridge(["events", "list", "--json"], directory: dir)
        guard case .array(let events) = try JSONParser().parse(list.output.trimmingSpaces()) else {
            Issue.record("expected a JSON array: \(list.output)")
            return
        }
        #expect(events.count == 2)
        #expect(events.allSatisfy { $0["type"] == .string("payment.succeeded") && $0.value(atPath: "data.channel") == .string("callback") })
        #expect(try await server.terminate() == 0, "\(server.output)")
    }

    @Test func anUnsupportedScenarioExitsNonZeroSayingSo() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let handlers = repositoryRoot + "/handlers"
        let luxfin = try runCallbridge(["simulate", "luxfin", "refunded", "--to", "http://127.0.0.1:9", "--handlers", handlers], directory: dir)
        #expect(luxfin.status != 0)
        #expect(luxfin.output.contains("luxfin has no 'refunded' scenario"), "\(luxfin.output)")
        let nonstopay = try runCallbridge(["simulate", "nonstopay", "refunded", "--channel", "redirect", "--to", "http://127.0.0.1:9", "--handlers", handlers], directory: dir)
        #expect(nonstopay.status != 0)
        #expect(nonstopay.output.contains("nonstopay has no 'refunded' scenario on the redirect channel"), "\(nonstopay.output)")
        let unknown = try runCallbridge(["simulate", "stripe", "succeeded", "--to", "http://127.0.0.1:9"], directory: dir)
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("unknown provider 'stripe'"), "\(unknown.output)")
    }

    @Test func aMissingSecretExitsNonZeroNamingTheVariable() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var environment = providerSecrets
        environment["NONSTOPAY_API_KEY"] = ""
        let result = try runCallbridge(
            ["simulate", "nonstopay", "succeeded", "--to", "http://127.0.0.1:9", "--handlers", repositoryRoot + "/handlers"],
            environment: environment, directory: dir
        )
        #expect(result.status != 0)
        #expect(result.output.contains("NONSTOPAY_API_KEY is not set"), "\(result.output)")
    }
}
