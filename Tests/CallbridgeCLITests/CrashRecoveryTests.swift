import CallbridgeCrypto
import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

/// The real binary, killed with SIGKILL while deliveries are in flight.
@Suite(.serialized) struct CrashRecoveryTests {
    static let secret = "whsec_" + ByteEncoding.base64(Array("crash-test-endpoint-signing-key!".utf8))

    /// A port that was free a moment ago (the sink binds it later).
    func freePort() async throws -> Int {
        try await RecordingSink().run { $0 }
    }

    /// Posts `count` signed Juspay webhooks over four connections; returns the acked event ids.
    func postWebhooks(_ count: Int, port: Int, prefix: String) async throws -> [String] {
        try await withThrowingTaskGroup(of: [String].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                        var acked: [String] = []
                        for i in stride(from: worker, to: count, by: 4) {
                            let body = #"{"id":"\#(prefix)_\#(i)","date_created":"2026-11-23T09:59:58Z","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"ord_\#(i)","status":"CHARGED","amount":10.00,"currency":"EUR"}}}"#
                            let response = try await client.post("/juspay/webhook", headers: [
                                .authorization: "Basic " + Data("merchant_hooks:s3cret-basic-pass".utf8).base64EncodedString(),
                                .contentType: "application/json",
                            ], body: ByteBuffer(string: body))
                            if response.status == .ok, let id = try? JSONParser().parse(Array(buffer: response.body ?? ByteBuffer()))["event_id"]?.stringValue {
                                acked.append(id)
                            }
                        }
                        return acked
                    }
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
    }

    @Test func everyAckedEventIsDeliveredAfterAKillDashNineMidDelivery() async throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sinkPort = try await freePort()
        try """
        listen: {host: 127.0.0.1, port: 0}
        storage: {sqlite: ./data/callbridge.sqlite}
        handlers: \(repositoryRoot)/handlers
        dispatch: {lease_margin: 1s, poll_interval: 200ms, breaker_failures: 1000}
        endpoints:
          - name: orders
            url: http://127.0.0.1:\(sinkPort)/orders
            secret: ${ORDERS_SECRET}
            timeout: 5s
            retry_schedule: [0s, 100ms, 200ms, 300ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms]
        """.write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
        var environment = providerSecrets
        environment["ORDERS_SECRET"] = Self.secret

        // 1. The sink is down: events are acked and their deliveries keep failing.
        let first = try ServeProcess(config: "callbridge.yaml", directory: dir, environment: environment)
        try await first.waitUntilListening()
        let count = 40
        let acked = try await postWebhooks(count, port: first.port, prefix: "evt_crash")
        #expect(acked.count == count)

        // 2. The sink comes up but hangs, so deliveries are in flight when the process dies.
        let hanging = RecordingSink(defaultResponse: .hang(.seconds(6)))
        let firstPID = first.process.processIdentifier
        try await hanging.run(port: sinkPort) { _ in
            #expect(await eventually(timeout: .seconds(15)) { hanging.received.count >= 20 })
            kill(firstPID, SIGKILL)
        }
        first.process.waitUntilExit()
        #expect(first.process.terminationReason == .uncaughtSignal)

        // 3. Restart and bring the sink up healthy: every acked event arrives.
        let sink = RecordingSink()
        let restartEnvironment = environment
        try await sink.run(port: sinkPort) { _ in
            let second = try ServeProcess(config: "callbridge.yaml", directory: dir, environment: restartEnvironment)
            try await second.waitUntilListening()
            let arrived = await eventually(timeout: .seconds(60)) {
                Set(sink.received.compactMap { $0.header("webhook-id") }).isSuperset(of: acked)
            }
            #expect(arrived, "missing: \(Set(acked).subtracting(sink.received.compactMap { $0.header("webhook-id") }).count) of \(acked.count)\n\(second.output.suffix(3000))")
            #expect(try await second.terminate() == 0)
        }
        // Every acked event is in the log, and the duplicates at the sink are counted.
        let list = try runCallbridge(["events", "list", "--json", "--limit", "1000"], directory: dir)
        guard case .array(let stored)? = try? JSONParser().parse(list.output.trimmingSpaces()) else {
            Issue.record("events list did not print a JSON array: \(list.output.prefix(500))")
            return
        }
        let storedIDs = Set(stored.compactMap { $0["id"]?.stringValue })
        #expect(storedIDs.isSuperset(of: acked))
        // Duplicates are expected only for deliveries whose lease expired: the
        // ones in flight when the process died, sent again after the restart.
        let ids = sink.received.compactMap { $0.header("webhook-id") }
        let inFlightAtKill = Set(hanging.received.compactMap { $0.header("webhook-id") })
        let resent = inFlightAtKill.intersection(ids)
        #expect(ids.count - Set(ids).count == 0, "the restarted process sent an event twice")
        print("crash recovery: \(acked.count) acked, \(Set(ids).count) delivered after restart, \(inFlightAtKill.count) in flight at the kill, \(resent.count) of them sent again (lease expired)")
    }
}
