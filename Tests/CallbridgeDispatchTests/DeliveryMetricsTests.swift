import CallbridgeDispatch
import CallbridgeModel
import CallbridgeStore
import CallbridgeTestSupport
import Foundation
import Prometheus
import Testing

/// Delivery attempts show up in the registry the dispatcher was given.
@Suite(.serialized) struct DeliveryMetricsTests {
    @Test func attemptsAreCountedByEndpointAndOutcomeWithTheirLatency() async throws {
        let harness = try DispatchHarness()
        let sink = RecordingSink()
        sink.script("/orders", [.status(500)])
        let registry = PrometheusCollectorRegistry()
        try await sink.run { port in
            let ids = try await harness.ingest(1, to: ["orders"])
            let dispatcher = try harness.dispatcher([DispatchHarness.endpoint("orders", port: port)], metrics: DeliveryMetrics(registry: registry))
            try await harness.running(dispatcher) {
                #expect(await eventually { try await harness.states(ids) == [.succeeded] })
            }
        }
        let metrics = try PrometheusExposition(parsing: registry.emitToString())
        #expect(metrics.types["callbridge_delivery_attempts_total"] == "counter")
        #expect(metrics.value("callbridge_delivery_attempts_total", ["endpoint": "orders", "outcome": "http_error"]) == 1)
        #expect(metrics.value("callbridge_delivery_attempts_total", ["endpoint": "orders", "outcome": "success"]) == 1)
        #expect(metrics.types["callbridge_delivery_attempt_duration_seconds"] == "histogram")
        #expect(metrics.value("callbridge_delivery_attempt_duration_seconds_count", ["endpoint": "orders"]) == 2)
        #expect(metrics.value("callbridge_delivery_attempt_duration_seconds_bucket", ["endpoint": "orders", "le": "+Inf"]) == 2)
        await harness.cleanUp()
    }

    @Test func aRefusedConnectionIsCountedAsConnectionError() async throws {
        let harness = try DispatchHarness()
        let registry = PrometheusCollectorRegistry()
        let ids = try await harness.ingest(1, to: ["orders"])
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let endpoint = DispatchHarness.endpoint("orders", port: 9, schedule: ["0s"])
        try await harness.running(try harness.dispatcher([endpoint], metrics: DeliveryMetrics(registry: registry))) {
            #expect(await eventually { try await harness.states(ids) == [.dead] })
        }
        let metrics = try PrometheusExposition(parsing: registry.emitToString())
        #expect(metrics.value("callbridge_delivery_attempts_total", ["endpoint": "orders", "outcome": "connection_error"]) == 1)
        await harness.cleanUp()
    }
}
