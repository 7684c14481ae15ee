import CallbridgeDispatch
import CallbridgeModel
import CallbridgeStore
import CallbridgeTestSupport
import Foundation
import Testing

/// Delivery through the dispatcher, real libcurl and real HTTP sinks.
@Suite(.serialized) struct DispatcherTests {
    @Test func deliveriesArriveSignedAndTheSinkVerifiesThemIndependently() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        try await sink.run { port in
            let ids = try await harness.ingest(3, to: ["orders"])
            let dispatcher = try harness.dispatcher([DispatchHarness.endpoint("orders", port: port)])
            try await harness.running(dispatcher) {
                #expect(await eventually { try await harness.states(ids) == [.succeeded, .succeeded, .succeeded] })
            }
            let received = sink.received(path: "/orders")
            #expect(received.count == 3)
            #expect(Set(received.compactMap { $0.header("webhook-id") }) == Set(ids.map(\.rawValue)))
            for request in received {
                #expect(request.header("content-type") == "application/json")
                #expect(request.header("user-agent")?.hasPrefix("Callbridge/") == true)
                let timestamp = try #require(request.header("webhook-timestamp"))
                #expect(abs((Int64(timestamp) ?? 0) - Int64(Date().timeIntervalSince1970)) < 60)
                #expect(standardWebhooksValid(secret: ordersSecret, id: request.header("webhook-id") ?? "", timestamp: timestamp,
                                              body: request.body, signatureHeader: request.header("webhook-signature") ?? ""))
                let envelope = try Event(envelopeBytes: request.body)
                #expect(envelope.id.rawValue == request.header("webhook-id"))
            }
            let attempts = try await harness.log.attempts(forDelivery: try #require(try await harness.log.deliveries(forEvent: ids[0]).first).id)
            #expect(attempts.map(\.statusCode) == [200])
        }
        await harness.cleanUp()
    }

    @Test func twoFailuresThenSuccessRecordsThreeAttemptsAndOneSuccess() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        sink.script("/orders", [.status(500), .status(500)])
        try await sink.run { port in
            let ids = try await harness.ingest(1, to: ["orders"])
            try await harness.running(try harness.dispatcher([DispatchHarness.endpoint("orders", port: port)])) {
                #expect(await eventually { try await harness.states(ids) == [.succeeded] })
            }
            let delivery = try #require(try await harness.log.deliveries(forEvent: ids[0]).first)
            #expect(delivery.attemptCount == 3)
            #expect(try await harness.log.attempts(forDelivery: delivery.id).map(\.statusCode) == [500, 500, 200])
            #expect(Set(sink.received(path: "/orders").compactMap { $0.header("webhook-id") }) == [ids[0].rawValue])
        }
        await harness.cleanUp()
    }

    @Test func exhaustingTheScheduleMakesTheDeliveryDead() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        sink.setDefault("/orders", .status(500))
        try await sink.run { port in
            let ids = try await harness.ingest(1, to: ["orders"])
            let endpoint = DispatchHarness.endpoint("orders", port: port, schedule: ["0s", "50ms", "50ms"])
            try await harness.running(try harness.dispatcher([endpoint])) {
                #expect(await eventually { try await harness.states(ids) == [.dead] })
            }
            #expect(sink.received(path: "/orders").count == 3)
        }
        await harness.cleanUp()
    }

    @Test func goneDisablesTheEndpointAndKeepsItsDeliveries() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        sink.setDefault("/orders", .status(410))
        try await sink.run { port in
            let first = try await harness.ingest(1, to: ["orders"])
            try await harness.running(try harness.dispatcher([DispatchHarness.endpoint("orders", port: port)])) {
                #expect(await eventually { try await harness.log.disabledEndpoints()["orders"] != nil })
                let later = try await harness.ingest(2, to: ["orders"])
                try await Task.sleep(for: .milliseconds(400))
                #expect(try await harness.states(later) == [.pending, .pending])
            }
            #expect(sink.received(path: "/orders").count == 1)
            #expect(try await harness.states(first) == [.pending])
        }
        await harness.cleanUp()
    }

    @Test func retryAfterIsHonouredWithinTheScheduledWindow() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        sink.script("/orders", [.status(500, headers: [("Retry-After", "2")])])
        try await sink.run { port in
            let ids = try await harness.ingest(1, to: ["orders"])
            let endpoint = DispatchHarness.endpoint("orders", port: port, schedule: ["0s", "1s", "1s"])
            try await harness.running(try harness.dispatcher([endpoint])) {
                #expect(await eventually { (try await harness.log.deliveries(forEvent: ids[0]).first?.attemptCount ?? 0) >= 1 })
                let delivery = try #require(try await harness.log.deliveries(forEvent: ids[0]).first)
                let attempt = try #require(try await harness.log.attempts(forDelivery: delivery.id).first)
                let finished = attempt.startedAt.millisecondsSinceEpoch + attempt.durationMilliseconds
                let wait = try #require(delivery.nextAttemptAt).millisecondsSinceEpoch - finished
                #expect((1_990...2_010).contains(wait), "waited \(wait) ms")
                #expect(await eventually { try await harness.states(ids) == [.succeeded] })
            }
        }
        await harness.cleanUp()
    }

    @Test func aTimeoutIsAFailureThatBacksOffAtLeastAMinute() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        sink.setDefault("/orders", .hang(.seconds(3)))
        try await sink.run { port in
            let ids = try await harness.ingest(1, to: ["orders"])
            let endpoint = DispatchHarness.endpoint("orders", port: port, schedule: ["0s", "100ms"], timeout: "300ms")
            try await harness.running(try harness.dispatcher([endpoint])) {
                #expect(await eventually { (try await harness.log.deliveries(forEvent: ids[0]).first?.attemptCount ?? 0) == 1 })
            }
            let delivery = try #require(try await harness.log.deliveries(forEvent: ids[0]).first)
            #expect(delivery.state == .pending)
            #expect(delivery.lastError == "timeout")
            let attempt = try #require(try await harness.log.attempts(forDelivery: delivery.id).first)
            #expect(attempt.statusCode == nil)
            let wait = try #require(delivery.nextAttemptAt).millisecondsSinceEpoch - (attempt.startedAt.millisecondsSinceEpoch + attempt.durationMilliseconds)
            #expect(wait >= 59_000)
        }
        await harness.cleanUp()
    }

    @Test func aHangingEndpointDoesNotHoldUpAHealthyOne() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        sink.setDefault("/slow", .hang(.seconds(4)))
        try await sink.run { port in
            let ids = try await harness.ingest(20, to: ["slow", "fast"])
            let endpoints = [DispatchHarness.endpoint("slow", port: port, timeout: "3s"), DispatchHarness.endpoint("fast", port: port)]
            try await harness.running(try harness.dispatcher(endpoints, grace: .milliseconds(200))) {
                #expect(await eventually(timeout: .seconds(10)) {
                    let stats = try await harness.log.endpointStatistics(now: Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)))
                    return stats.first { $0.endpoint == "fast" }?.succeeded == 20
                })
                // Every fast delivery finished while no slow attempt had come back yet.
                let slowDeliveries = try await harness.states(ids).count - 20
                #expect(slowDeliveries == 20)
                var slowAttempts = 0
                for id in ids {
                    for delivery in try await harness.log.deliveries(forEvent: id) where delivery.endpoint == "slow" {
                        slowAttempts += try await harness.log.attempts(forDelivery: delivery.id).count
                    }
                }
                #expect(slowAttempts == 0)
            }
        }
        await harness.cleanUp()
    }

    @Test func theCircuitBreakerStopsAttemptsToAnEndpointThatKeepsFailing() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        sink.setDefault("/orders", .status(500))
        try await sink.run { port in
            _ = try await harness.ingest(10, to: ["orders"])
            let endpoint = DispatchHarness.endpoint("orders", port: port, schedule: ["0s", "0s", "0s", "0s", "0s"], maxInFlight: 1)
            let dispatcher = try harness.dispatcher([endpoint], breakerThreshold: 3)
            try await harness.running(dispatcher) {
                #expect(await eventually { await dispatcher.breakerStates()["orders"] == "open" })
                try await Task.sleep(for: .milliseconds(500))
                #expect(sink.received(path: "/orders").count == 3)
            }
        }
        await harness.cleanUp()
    }

    @Test func gracefulShutdownReleasesUnfinishedLeasesWithoutChargingAnAttempt() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        sink.setDefault("/orders", .hang(.seconds(3)))
        try await sink.run { port in
            let ids = try await harness.ingest(2, to: ["orders"])
            let dispatcher = try harness.dispatcher([DispatchHarness.endpoint("orders", port: port, timeout: "10s")], grace: .milliseconds(200))
            try await harness.running(dispatcher) {
                #expect(await eventually { sink.received(path: "/orders").count == 2 })
            }
            let deliveries = try await harness.states(ids)
            #expect(deliveries == [.pending, .pending])
            for id in ids {
                #expect(try await harness.log.deliveries(forEvent: id).first?.attemptCount == 0)
            }
            // Due at once for the next dispatcher.
            let now = Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000))
            #expect(try await harness.log.leaseDue(owner: "next", now: now, leaseDuration: .seconds(30), capacity: ["orders": 5]).count == 2)
        }
        await harness.cleanUp()
    }

    @Test func aCancelledDispatcherStillReturnsItsLeases() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        sink.setDefault("/orders", .hang(.seconds(3)))
        try await sink.run { port in
            let ids = try await harness.ingest(2, to: ["orders"])
            let dispatcher = try harness.dispatcher([DispatchHarness.endpoint("orders", port: port, timeout: "10s")], grace: .milliseconds(200))
            let task = Task { try await dispatcher.run() }
            #expect(await eventually { sink.received(path: "/orders").count == 2 })
            task.cancel()
            _ = try? await task.value
            #expect(try await harness.states(ids) == [.pending, .pending])
        }
        await harness.cleanUp()
    }
}
