import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

@Suite("Handler file loading")
struct LoaderTests {
    static let file = "handlers/acme.yaml"

    /// A valid handler file that each case below breaks in one place.
    static let valid = """
    provider: acme
    routes:
      - name: webhook
        path: /acme/webhook
        methods: [POST]
        channel: callback
        format: json
        verify:
          - type: hmac
            header: X-Acme-Signature
            secret: ${ACME_SECRET}
        fields:
          order_id: json:order.id
        type:
          from: json:status
          map:
            paid: payment.succeeded
      - name: return
        path: /acme/return
        methods: GET
        channel: redirect
        format: params
        verify:
          type: none
        fields:
          order_id: param:order
        type:
          from: [param:status]
          map:
            ok: payment.succeeded
        landing: https://shop.example.com/done/{order_id}?r={outcome}
    """

    static func load(_ yaml: String, environment: [String: String] = ["ACME_SECRET": "k"]) throws(ConfigError) -> ProviderHandler {
        try HandlerFileLoader(secrets: Support.secrets(environment)).load(yaml: yaml, file: file)
    }

    static func loadError(_ yaml: String) -> ConfigError? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return error
        }
    }

    static func replacing(_ target: String, with replacement: String) -> String {
        precondition(valid.contains(target), "test setup: \(target) not in the valid file")
        return valid.replacingOccurrences(of: target, with: replacement)
    }

    @Test("the base file used by these tests loads")
    func baseLoads() throws {
        let handler = try Self.load(Self.valid)
        #expect(handler.provider == "acme")
        #expect(handler.routes.map(\.name) == ["webhook", "return"])
        #expect(handler.routes[0].secretHeaders.contains("x-acme-signature"))
    }

    struct BrokenCase: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        var keyPath: String
        var message: String
        var line: Int
        var testDescription: String { name }
    }

    static let brokenCases: [BrokenCase] = [
        BrokenCase(name: "unknown route key", yaml: replacing("    format: json\n", with: "    format: json\n    retries: 3\n"),
                   keyPath: "routes[0].retries", message: "unknown key 'retries'", line: 8),
        BrokenCase(name: "unknown top-level key", yaml: "version: 2\n" + valid, keyPath: "version", message: "unknown key 'version'", line: 1),
        BrokenCase(name: "unknown verifier key", yaml: replacing("        header: X-Acme-Signature\n", with: "        header: X-Acme-Signature\n        digest: sha256\n"),
                   keyPath: "routes[0].verify[0].digest", message: "unknown key 'digest'", line: 11),
        BrokenCase(name: "unknown verifier type", yaml: replacing("type: hmac", with: "type: hmc"),
                   keyPath: "routes[0].verify[0].type", message: "unknown verifier 'hmc'", line: 9),
        BrokenCase(name: "literal secret", yaml: replacing("secret: ${ACME_SECRET}", with: "secret: hunter2"),
                   keyPath: "routes[0].verify[0].secret", message: "never written in a handler file", line: 11),
        BrokenCase(name: "bad event type in map", yaml: replacing("paid: payment.succeeded", with: "paid: payment.success"),
                   keyPath: "routes[0].type.map.paid", message: "'payment.success' is not an event type", line: 17),
        BrokenCase(name: "redirect without landing", yaml: replacing("    landing: https://shop.example.com/done/{order_id}?r={outcome}", with: ""),
                   keyPath: "routes[1]", message: "needs a 'landing' template", line: 18),
        BrokenCase(name: "callback with type none", yaml: replacing("      - type: hmac\n        header: X-Acme-Signature\n        secret: ${ACME_SECRET}", with: "      - type: none"),
                   keyPath: "routes[0]", message: "a callback route must be verified", line: 3),
        BrokenCase(name: "unknown field source kind", yaml: replacing("order_id: json:order.id", with: "order_id: body:order.id"),
                   keyPath: "routes[0].fields.order_id", message: "'body:order.id' is not a field source", line: 13),
        BrokenCase(name: "unknown event field", yaml: replacing("order_id: json:order.id", with: "order_number: json:order.id"),
                   keyPath: "routes[0].fields.order_number", message: "unknown event field 'order_number'", line: 13),
        BrokenCase(name: "unknown landing placeholder", yaml: replacing("?r={outcome}", with: "?r={status}"),
                   keyPath: "routes[1].landing", message: "unknown placeholder '{status}'", line: 31),
        BrokenCase(name: "unsupported method", yaml: replacing("methods: [POST]", with: "methods: [POST, DELETE]"),
                   keyPath: "routes[0].methods", message: "method 'DELETE' is not supported", line: 5),
        BrokenCase(name: "bad channel", yaml: replacing("channel: callback", with: "channel: webhook"),
                   keyPath: "routes[0].channel", message: "'webhook' is not valid", line: 6),
        BrokenCase(name: "path parameter not in the path", yaml: replacing("order_id: param:order", with: "order_id: path:order"),
                   keyPath: "routes[1].fields.order_id", message: "names a path parameter the route's path does not have", line: 26),
        BrokenCase(name: "missing type", yaml: replacing("    type:\n      from: json:status\n      map:\n        paid: payment.succeeded\n", with: ""),
                   keyPath: "routes[0]", message: "missing required key 'type'", line: 3),
        BrokenCase(name: "duplicate route name", yaml: replacing("name: return", with: "name: webhook"),
                   keyPath: "routes[1]", message: "route name 'webhook' is used twice", line: 18),
        BrokenCase(name: "bad tolerance duration", yaml: replacing("        secret: ${ACME_SECRET}\n", with: "        secret: ${ACME_SECRET}\n        tolerance: 300\n"),
                   keyPath: "routes[0].verify[0].tolerance", message: "'300' is not a duration", line: 12),
    ]

    @Test("each configuration mistake produces a ConfigError naming the file, line and key path", arguments: brokenCases)
    func configErrors(broken: BrokenCase) throws {
        let error = try #require(Self.loadError(broken.yaml), "expected a ConfigError")
        #expect(error.file == Self.file)
        #expect(error.keyPath == broken.keyPath)
        #expect(error.description.hasPrefix("\(Self.file):"))
        #expect(error.description.contains("\(broken.keyPath): "))
        #expect(error.description.contains(broken.message))
        #expect(error.line == broken.line)
        #expect(error.description.hasPrefix("\(Self.file):\(broken.line):"))
    }

    @Test("invalid YAML is reported against the file")
    func invalidYAML() throws {
        let error = try #require(Self.loadError("provider: acme\nroutes: [\n  - name: x\n"))
        #expect(error.description.hasPrefix(Self.file))
        #expect(error.description.contains("not valid YAML"))
    }

    @Test("an unset secret leaves the route loaded with the reference listed as unresolved")
    func unresolvedSecret() throws {
        let handler = try Self.load(Self.valid, environment: [:])
        #expect(handler.routes[0].unresolvedSecrets == ["${ACME_SECRET}"])
        #expect(handler.routes[1].unresolvedSecrets.isEmpty)
    }

    @Test("the shipped handlers load with an empty environment and list every unresolved reference by route")
    func shippedUnresolved() throws {
        let set = try Support.handlers([:])
        let unresolved = set.unresolvedSecrets.map { "\($0.route) \($0.reference)" }
        #expect(Set(unresolved) == [
            "juspay/webhook ${JUSPAY_WEBHOOK_USERNAME}", "juspay/webhook ${JUSPAY_WEBHOOK_PASSWORD}",
            "juspay/return ${JUSPAY_RESPONSE_KEY}", "nonstopay/callback ${NONSTOPAY_API_KEY}", "luxfin/webhook ${LUXFIN_API_SECRET}",
        ])
    }

    @Test("an empty environment variable counts as unset")
    func emptyVariable() throws {
        let handler = try Self.load(Self.valid, environment: ["ACME_SECRET": ""])
        #expect(handler.routes[0].unresolvedSecrets == ["${ACME_SECRET}"])
    }

    @Test("secrets can come from a file reference, without its trailing newline")
    func fileSecret() throws {
        let yaml = Self.replacing("secret: ${ACME_SECRET}", with: "secret: file:/run/secrets/acme")
        let source = SecretSource(environment: [:], readFile: { $0 == "/run/secrets/acme" ? "from-file\n" : nil })
        let handler = try HandlerFileLoader(secrets: source).load(yaml: yaml, file: Self.file)
        let verifier = try #require(handler.routes[0].verifiers.first as? HMACVerifier)
        #expect(verifier.secrets == ["from-file"])
        #expect(handler.routes[0].unresolvedSecrets.isEmpty)
    }

    @Test("the directory loader reports every broken file at once, each naming its own file")
    func directoryReportsAll() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("callbridge-handlers-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.replacing("type: hmac", with: "type: hmc").write(to: directory.appendingPathComponent("a.yaml"), atomically: true, encoding: .utf8)
        try Self.replacing("secret: ${ACME_SECRET}", with: "secret: hunter2").replacingOccurrences(of: "acme", with: "beta")
            .write(to: directory.appendingPathComponent("b.yml"), atomically: true, encoding: .utf8)
        try "not: [valid".write(to: directory.appendingPathComponent("c.yaml.example"), atomically: true, encoding: .utf8)

        do {
            _ = try HandlerDirectoryLoader(directory: directory.path, secrets: Support.secrets()).load()
            Issue.record("expected the folder to fail to load")
        } catch {
            #expect(error.errors.count == 2)
            #expect(error.errors.first?.description.contains("a.yaml:9:") == true)
            #expect(error.errors.first?.description.contains("routes[0].verify[0].type") == true)
            #expect(error.errors.last?.description.contains("b.yml:11:") == true)
            #expect(error.errors.last?.description.contains("routes[0].verify[0].secret") == true)
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test("two files whose routes share a path are refused")
    func overlappingPaths() throws {
        let other = Self.valid.replacingOccurrences(of: "provider: acme", with: "provider: other")
            .replacingOccurrences(of: "/acme/return", with: "/other/return")
        let a = try Self.load(Self.valid)
        let b = try Self.load(other)
        #expect(throws: ConfigError.self) { try HandlerSet(providers: [a, b]) }
        #expect(throws: ConfigError.self) { try HandlerSet(providers: [a, a]) }
    }

    @Test("an api_key verifier with two keys accepts either during rotation")
    func apiKeyRotationFromFile() throws {
        let yaml = Self.replacing("      - type: hmac\n        header: X-Acme-Signature\n        secret: ${ACME_SECRET}",
                                  with: "      - type: api_key\n        header: X-Api-Key\n        keys:\n          - ${ACME_KEY_OLD}\n          - ${ACME_KEY_NEW}")
        let handler = try HandlerFileLoader(secrets: Support.secrets(["ACME_KEY_OLD": "old-key", "ACME_KEY_NEW": "new-key"]))
            .load(yaml: yaml, file: Self.file)
        let route = handler.routes[0]
        for key in ["old-key", "new-key"] {
            let raw = Support.request("POST", "/acme/webhook", headers: [("X-Api-Key", key)], body: #"{"status":"paid","order":{"id":"o1"}}"#.bytes)
            guard case .accept(let normalized) = try Normalizer().normalize(route: route, raw: raw, pathParameters: [:], eventID: Support.eventID, now: Support.now) else {
                Issue.record("expected accept for \(key)")
                continue
            }
            #expect(normalized.event.data.verification == .apiKey)
            #expect(normalized.event.type == .paymentSucceeded)
            #expect(normalized.raw.header("x-api-key") == "[redacted]")
        }
        let wrong = Support.request("POST", "/acme/webhook", headers: [("X-Api-Key", "older-key")], body: #"{"status":"paid"}"#.bytes)
        #expect(throws: IngestError.self) {
            try Normalizer().normalize(route: route, raw: wrong, pathParameters: [:], eventID: Support.eventID, now: Support.now)
        }
    }
}
