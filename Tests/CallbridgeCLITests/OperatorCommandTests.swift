import CallbridgeModel
import Foundation
import Testing

/// `sign`, `verify`, `secret new` and `endpoints` as an operator runs them.
@Suite(.serialized) struct OperatorCommandTests {
    @Test func signThenVerifyRoundTripsAndATamperedBodyFails() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let secret = try runCallbridge(["secret", "new"], directory: dir).output.trimmingSpaces()
        #expect(secret.hasPrefix("whsec_"))
        try #"{"id":"evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C","type":"payment.succeeded"}"#.write(toFile: dir + "/body.json", atomically: true, encoding: .utf8)
        let env = ["MY_SECRET": secret]
        let now = String(Int(Date().timeIntervalSince1970))
        let signed = try runCallbridge(["sign", "--secret-env", "MY_SECRET", "--id", "evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C", "--timestamp", now,
                                        "--body-file", "body.json"], environment: env, directory: dir)
        #expect(signed.status == 0)
        let signature = try #require(signed.output.split(separator: "\n").first { $0.hasPrefix("webhook-signature: ") }).dropFirst("webhook-signature: ".count)
        #expect(signature.hasPrefix("v1,"))

        let valid = try runCallbridge(["verify", "--secret-env", "MY_SECRET", "--id", "evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C", "--timestamp", now,
                                       "--signature", String(signature), "--body-file", "body.json"], environment: env, directory: dir)
        #expect(valid.status == 0)
        #expect(valid.output.hasPrefix("valid"))

        try #"{"id":"evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C","type":"payment.failed"}"#.write(toFile: dir + "/body.json", atomically: true, encoding: .utf8)
        let tampered = try runCallbridge(["verify", "--secret-env", "MY_SECRET", "--id", "evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C", "--timestamp", now,
                                          "--signature", String(signature), "--body-file", "body.json"], environment: env, directory: dir)
        #expect(tampered.status == 1)
        #expect(tampered.output.hasPrefix("invalid"))
    }

    @Test func endpointsCanBeDisabledAndEnabledAndListShowsIt() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        storage: {sqlite: ./data/callbridge.sqlite}
        endpoints:
          - {name: orders, url: "http://127.0.0.1:9/orders", secret: "${ORDERS_SECRET}"}
        """.write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
        let env = ["ORDERS_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
        #expect(try runCallbridge(["endpoints", "disable", "orders", "--reason", "maintenance"], environment: env, directory: dir).status == 0)
        let list = try runCallbridge(["endpoints", "list", "--json"], environment: env, directory: dir)
        let rows = try JSONParser().parse(list.output.trimmingSpaces())
        guard case .array(let items) = rows, let orders = items.first else {
            Issue.record("expected a JSON array: \(list.output)")
            return
        }
        #expect(orders["state"] == .string("disabled"))
        #expect(orders["disabled_reason"] == .string("maintenance"))
        #expect(try runCallbridge(["endpoints", "enable", "orders"], environment: env, directory: dir).status == 0)
        #expect(try runCallbridge(["endpoints", "list"], environment: env, directory: dir).output.contains("orders  enabled"))
        let unknown = try runCallbridge(["endpoints", "disable", "payments"], environment: env, directory: dir)
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("no endpoint named 'payments'"))
    }

    @Test func replayNeedsASelectionAndReportsWhatItWouldDo() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        storage: {sqlite: ./data/callbridge.sqlite}
        endpoints:
          - {name: orders, url: "http://127.0.0.1:9/orders", secret: "${ORDERS_SECRET}"}
        """.write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
        let bare = try runCallbridge(["replay"], directory: dir)
        #expect(bare.status != 0)
        #expect(bare.output.contains("choose what to replay"))
        #expect(try runCallbridge(["endpoints", "disable", "orders"], directory: dir).status == 0)  // creates the log
        let dry = try runCallbridge(["replay", "--state", "dead", "--endpoint", "orders", "--since", "2h", "--dry-run"], directory: dir)
        #expect(dry.status == 0, "\(dry.output)")
        #expect(dry.output.contains("would replay 0 event(s) as 0 new deliveries"))
        let unknown = try runCallbridge(["replay", "--endpoint", "payments"], directory: dir)
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("no endpoint named 'payments'"))
    }

    @Test func pruneNeedsARetentionAndDryRunCounts() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "storage: {sqlite: ./data/callbridge.sqlite}\n".write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
        let unset = try runCallbridge(["prune", "--dry-run"], directory: dir)
        #expect(unset.status != 0)
        #expect(unset.output.contains("retention.days"))
        try "storage: {sqlite: ./data/callbridge.sqlite}\nretention: {days: 30}\n".write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
        let pruned = try runCallbridge(["prune"], directory: dir)
        #expect(pruned.status == 0, "\(pruned.output)")
        #expect(pruned.output.hasPrefix("deleted 0 event(s)"))
        let dry = try runCallbridge(["prune", "--dry-run"], directory: dir)
        #expect(dry.output.hasPrefix("would delete 0 event(s)"))
    }
}
