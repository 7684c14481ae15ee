import CallbridgeCrypto
import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// Two real `callbridge serve` processes sharing one PostgreSQL log: one is
/// killed with SIGKILL while deliveries are in flight, the other takes over
/// its expired leases. Nothing acked is lost, and the only duplicates are the
/// deliveries whose lease the dead process held.
@Suite(.enabled(if: TestPostgres.isAvailable), .serialized)
struct MultiProcessPostgresTests {
    static let secret = "whsec_" + ByteEncoding.base64(Array("multi-process-endpoint-signing-k".utf8))
    /// The endpoint's `max_in_flight`: the most deliveries one process can have in flight.
    static let maxInFlight = 16
    /// `dispatch.lease_margin`: the least time between a lease's first send and its expiry.
    static let leaseMargin: Duration = .seconds(1)
    /// Sampling error of arrival times (the sink's count is sampled every few ms).
    static let leaseSlack: Duration = .milliseconds(100)
    /// A copy sent by the killed process may still be read by the sink a moment after the
    /// kill (on a loaded machine); less than the time before any lease of A can expire.
    static let killSlack: Duration = .milliseconds(900)

    /// Runs `body` with a fresh database, dropped afterwards even on failure.
    func withDatabase<T>(_ body: (String) async throws -> T) async throws -> T {
        let url = try await TestPostgres.createDatabase(prefix: "cb_multi")
        do {
            let result = try await body(url)
            await TestPostgres.dropDatabase(url: url)
            return result
        } catch {
            await TestPostgres.dropDatabase(url: url)
            throw error
        }
    }

    /// The config of every process; the database URL comes from the
    /// environment (`CALLBRIDGE_LOG_URL`) since a test server's URL may hold a password.
    static func config(sinkPort: Int?, perOrder: Bool = false) -> String {
        var text = """
            listen: {host: 127.0.0.1, port: 0}
            storage: {postgres: "${CALLBRIDGE_LOG_URL}"}
            handlers: \(repositoryRoot)/handlers
            dispatch: {lease_margin: 1s, poll_interval: 200ms, breaker_failures: 1000}

            """
        if let sinkPort {
            text += """
                endpoints:
                  - name: orders
                    url: http://127.0.0.1:\(sinkPort)/orders
                    secret: ${ORDERS_SECRET}
                    timeout: 2s
                    max_in_flight: \(maxInFlight)
                    retry_schedule: [0s, 100ms, 200ms, 300ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms]

                """
            if perOrder {
                text += """
                        order_events: all
                        ordering: per_order

                    """
            }
        }
        return text
    }

    static func environment(database: String) -> [String: String] {
        var environment = providerSecrets
        environment["ORDERS_SECRET"] = secret
        environment["CALLBRIDGE_LOG_URL"] = database
        return environment
    }

    /// The process's `callbridge_delivery_attempts_total` for `orders`, all outcomes.
    static func deliveryAttempts(port: Int) async throws -> Double {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let response = try await client.get("/metrics")
            let metrics = try PrometheusExposition(parsing: String(buffer: response.body ?? ByteBuffer()))
            return metrics.samples.filter { $0.name == "callbridge_delivery_attempts_total" && $0.labels["endpoint"] == "orders" }
                .reduce(0) { $0 + $1.value }
        }
    }

    /// Starts `callbridge serve` A and B on `database`, each in a folder of its
    /// own with the same config; both are killed (if still running) and their
    /// folders removed when `body` returns or throws.
    func withTwoServers<T>(database: String, sinkPort: Int?, perOrder: Bool = false, _ body: (ServeProcess, ServeProcess, _ environment: [String: String], _ dirB: String) async throws -> T) async throws -> T {
        let dirA = try makeTempDirectory()
        let dirB = try makeTempDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: dirA)
            try? FileManager.default.removeItem(atPath: dirB)
        }
        let config = Self.config(sinkPort: sinkPort, perOrder: perOrder)
        try config.write(toFile: dirA + "/callbridge.yaml", atomically: true, encoding: .utf8)
        try config.write(toFile: dirB + "/callbridge.yaml", atomically: true, encoding: .utf8)
        let environment = Self.environment(database: database)
        // Started back to back: on an empty database both race for the migration lock.
        let a = try ServeProcess(config: "callbridge.yaml", directory: dirA, environment: environment)
        let b = try ServeProcess(config: "callbridge.yaml", directory: dirB, environment: environment)
        defer {
            for serve in [a, b] where serve.process.isRunning {
                kill(serve.process.processIdentifier, SIGKILL)
                serve.process.waitUntilExit()
            }
        }
        try await a.waitUntilListening()
        try await b.waitUntilListening()
        return try await body(a, b, environment, dirB)
    }

    @Test func everyAckedEventIsDeliveredWhenOneOfTwoProcessesIsKilledMidDelivery() async throws {
        try await withDatabase { database in
            // Answers 200 after ~80 ms, so each process has deliveries in flight most of the time.
            let sink = RecordingSink(defaultResponse: .hang(.milliseconds(80)))
            try await sink.run { sinkPort in
                try await withTwoServers(database: database, sinkPort: sinkPort) { a, b, _, _ in
                    try await run(sink: sink, a: a, b: b, database: database)
                }
            }
        }
    }

    /// The scenario, once both processes listen.
    private func run(sink: RecordingSink, a: ServeProcess, b: ServeProcess, database: String) async throws {
        let count = 400
        let prefix = "evt_mp_" + UUID().uuidString.prefix(8).lowercased()
        let (portA, portB, pidA) = (a.port, b.port, a.process.processIdentifier)
        let feed = WebhookFeed(count: count)
        let killMoment = KillRecord()
        // When each sink request arrived, to within the sampling period.
        let arrivals = ArrivalClock(sink: sink)
        let sampler = Task { await arrivals.sample() }
        defer { sampler.cancel() }

        try await withThrowingTaskGroup(of: Void.self) { group in
            // Four connections to each process, all taking the next webhook from one feed;
            // after the kill only B's connections are left to post the rest.
            for (port, dies) in [(portA, true), (portA, true), (portA, true), (portA, true), (portB, false), (portB, false), (portB, false), (portB, false)] {
                group.addTask {
                    do {
                        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                            while let i = feed.take() {
                                if let id = try await JuspayWebhook.post(client, id: "\(prefix)_\(i)", order: i) { feed.ack(id) }
                            }
                        }
                    } catch {
                        // A request to A that failed because A was killed is neither acked nor counted.
                        guard dies && killMoment.killing else { throw error }
                    }
                }
            }
            // Kill A once half the webhooks are acked, while deliveries are in flight.
            group.addTask {
                #expect(await eventually(timeout: .seconds(30)) { feed.ackedCount >= count / 2 }, "only \(feed.ackedCount) acked")
                #expect(await eventually(timeout: .seconds(10)) { try await Self.deliveryAttempts(port: portA) > 0 },
                        "process A made no delivery attempt before the kill")
                let attemptsByA = (try? await Self.deliveryAttempts(port: portA)) ?? 0
                killMoment.markKilling()
                kill(pidA, SIGKILL)
                killMoment.record(at: .now, sinkCount: sink.received.count, ackedCount: feed.ackedCount, attemptsByA: attemptsByA)
            }
            try await group.waitForAll()
        }
        a.process.waitUntilExit()
        #expect(a.process.terminationReason == .uncaughtSignal)
        let acked = feed.acked
        guard let killedAt = killMoment.instant else {
            Issue.record("process A was not killed")
            return
        }
        #expect(acked.count >= count - 4, "at most one request per connection to A may fail at the kill")
        #expect(Set(acked).count == acked.count)

        // 1. Every acked event reaches the sink.
        let arrived = await eventually(timeout: .seconds(60)) {
            Set(sink.received(path: "/orders").compactMap { $0.header("webhook-id") }).isSuperset(of: acked)
        }
        let missing = Set(acked).subtracting(sink.received(path: "/orders").compactMap { $0.header("webhook-id") })
        #expect(arrived, "\(missing.count) of \(acked.count) acked events never reached the sink\n\(b.output.suffix(3000))")

        // 2. Every delivery is resolved in the log, once. A's leases have to expire before B
        // takes them over; on a loaded machine that and the sends again take longer than on a
        // quiet one, so the bound is as generous as the one above.
        let settled = await eventually(timeout: .seconds(60)) {
            try await TestPostgres.query(url: database, "SELECT count(*)::text FROM deliveries WHERE state <> 'succeeded'") == ["0"]
        }
        let states = try await TestPostgres.query(url: database, "SELECT state || ' ' || count(*) FROM deliveries GROUP BY state")
        #expect(settled, "unresolved deliveries: \(states)")
        let succeeded = Set(try await TestPostgres.query(url: database, "SELECT event_id FROM deliveries WHERE state = 'succeeded' AND endpoint = 'orders'").compactMap { $0 })
        #expect(succeeded.isSuperset(of: acked))
        let twice = try await TestPostgres.query(url: database, """
            SELECT event_id FROM deliveries WHERE state = 'succeeded' GROUP BY event_id, endpoint HAVING count(*) > 1
            """)
        #expect(twice.isEmpty, "events delivered successfully twice: \(twice.prefix(10))")

        // 3. Both processes delivered: A before it was killed, B by the end.
        let attemptsByA = killMoment.attemptsByA
        #expect(attemptsByA > 0)
        let attemptsByB = (try? await Self.deliveryAttempts(port: portB)) ?? 0
        #expect(attemptsByB > 0, "process B made no delivery attempt")
        #expect(try await b.terminate() == 0, "process B did not stop cleanly:\n\(b.output.suffix(3000))")

        // 4. Duplicates at the sink are the deliveries A held leases on: the first
        // copy came from A before it died, the second from B once the lease expired.
        sampler.cancel()
        let received = sink.received(path: "/orders")
        let samples = arrivals.samples
        var copies: [String: [Int]] = [:]
        for (index, request) in sink.received.enumerated() where request.path == "/orders" {
            if let id = request.header("webhook-id") { copies[id, default: []].append(index) }
        }
        let duplicated = copies.filter { $0.value.count > 1 }
        var earliestResend: Duration?
        for (id, indices) in duplicated.sorted(by: { $0.key < $1.key }) {
            #expect(indices.count == 2, "\(id) was delivered \(indices.count) times")
            // The first copy was recorded before the kill (or was already on its way).
            let firstBy = ArrivalClock.latestArrival(of: indices[0], samples: samples)
            #expect(firstBy.map { $0 <= killedAt + Self.killSlack } ?? false,
                    "\(id): first copy arrived \(firstBy.map { "\($0 - killedAt)" } ?? "after sampling ended") after the kill")
            // The second was sent only after A's lease had expired. A leased it at most one
            // endpoint timeout before the first copy arrived, and the lease lasts the timeout
            // plus lease_margin: so the copies are at least lease_margin apart, whatever the load.
            let resend = ArrivalClock.earliestArrival(of: indices[1], samples: samples)
            let gap = resend - killedAt
            earliestResend = min(earliestResend ?? gap, gap)
            #expect(gap > .zero, "\(id): sent again before the kill")
            if let firstBy {
                #expect(resend - firstBy >= Self.leaseMargin - Self.leaseSlack,
                        "\(id): sent again \(resend - firstBy) after the first copy, before A's lease could expire")
            }
        }
        #expect(duplicated.count <= Self.maxInFlight, "\(duplicated.count) duplicates: more than A could have had in flight")

        let attemptRows = (try? await TestPostgres.query(url: database, "SELECT count(*)::text FROM attempts").first ?? nil) ?? "?"
        print("""
            multi-process: \(count) posted, \(acked.count) acked, \(copies.count) distinct events in \(received.count) requests at the sink, \
            \(duplicated.count) duplicates (at most \(Self.maxInFlight) allowed), earliest resend \(earliestResend.map { "\($0)" } ?? "-") after the kill; \
            A killed after \(killMoment.ackedCount) acks and \(killMoment.sinkCount) sink requests; attempts by A before the kill \(Int(attemptsByA)), \
            by B in all \(Int(attemptsByB)); \(attemptRows) attempt rows in the log
            """)
    }

    /// Two processes take webhooks of one order at once: the ledger row lock
    /// makes one story of them (sequences 1…n, each once), and a `per_order`
    /// endpoint that both processes' dispatchers serve receives them one at a
    /// time in that order.
    @Test func oneOrdersEventsFromTwoProcessesFormOneConsistentStory() async throws {
        try await withDatabase { database in
            let sink = RecordingSink(defaultResponse: .hang(.milliseconds(5)))
            try await sink.run { sinkPort in
                try await withTwoServers(database: database, sinkPort: sinkPort, perOrder: true) { a, b, environment, dirB in
                    let count = 60
                    let feed = WebhookFeed(count: count)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for port in [a.port, a.port, a.port, b.port, b.port, b.port] {
                            group.addTask {
                                try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                                    while let i = feed.take() {
                                        if let id = try await JuspayWebhook.post(client, id: "evt_story_\(i)", order: 4242) { feed.ack(id) }
                                    }
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                    #expect(feed.ackedCount == count)

                    let shown = try runCallbridge(["orders", "show", "juspay", "ord_4242", "--json", "--config", "callbridge.yaml"],
                                                  environment: environment, directory: dirB)
                    let story = try? JSONParser().parse(shown.output.trimmingSpaces())
                    guard case .array(let timeline)? = story?["timeline"] else {
                        Issue.record("orders show: \(shown.output.prefix(1000))")
                        return
                    }
                    let sequences = timeline.compactMap { item -> Int? in
                        guard case .number(let n)? = item["sequence"] else { return nil }
                        return Int(n)
                    }
                    #expect(sequences == Array(1...count), "\(sequences)")
                    #expect(story?["counts"]?["events"] == .number(String(count)))
                    #expect(story?["counts"]?["advanced"] == .number("1") && story?["counts"]?["repeated"] == .number(String(count - 1)))
                    #expect(story?["state"]?.stringValue == "succeeded")

                    // Both dispatchers lease from one chain: the sink sees the story in order. An attempt
                    // that timed out on a loaded machine may have reached the sink and is sent again (at
                    // least once): a repeat comes right after itself, never after a later event.
                    @Sendable func delivered() -> [Int] {
                        sink.received(path: "/orders").compactMap { request -> Int? in
                            guard let envelope = try? JSONParser().parse(request.body), case .number(let n)? = envelope["data"]?["order"]?["sequence"] else { return nil }
                            return Int(n)
                        }
                    }
                    #expect(await eventually(timeout: .seconds(60)) { Set(delivered()).count >= count })
                    let sequence = delivered()
                    #expect(zip(sequence, sequence.dropFirst()).allSatisfy { $0 <= $1 }, "out of order: \(sequence)")
                    #expect(Array(Set(sequence)).sorted() == Array(1...count), "\(sequence)")
                    #expect(sequence.count - count <= 3, "more re-sends than a few timeouts explain: \(sequence)")
                    #expect(try await a.terminate() == 0, "A:\n\(a.output.suffix(2000))")
                    #expect(try await b.terminate() == 0, "B:\n\(b.output.suffix(2000))")
                }
            }
        }
    }

    @Test func twoProcessesStartingTogetherOnAnEmptyDatabaseMigrateOnceAndShareTheLog() async throws {
        try await withDatabase { database in
            try await withTwoServers(database: database, sinkPort: nil) { a, b, environment, dirB in
                // Every migration ran once.
                #expect(try await TestPostgres.query(url: database, "SELECT id FROM callbridge_migrations ORDER BY id") == ["v1", "v2", "v3", "v4"])
                let migrated = [a, b].filter { $0.output.contains("migrated the PostgreSQL log") }.count
                #expect(migrated == 1, "\(migrated) processes said they migrated\nA:\n\(a.output.suffix(2000))\nB:\n\(b.output.suffix(2000))")

                // An event acked by A is listed through B's config.
                let id = try await TestClient.withClient(host: "127.0.0.1", port: a.port) { client in
                    try await JuspayWebhook.post(client, id: "evt_mp_start_1", order: 1)
                }
                let eventID = try #require(id)
                let list = try runCallbridge(["events", "list", "--json", "--config", "callbridge.yaml"], environment: environment, directory: dirB)
                #expect(list.status == 0, "\(list.output.prefix(1000))")
                guard case .array(let stored)? = try? JSONParser().parse(list.output.trimmingSpaces()) else {
                    Issue.record("events list did not print a JSON array: \(list.output.prefix(500))")
                    return
                }
                #expect(stored.compactMap { $0["id"]?.stringValue } == [eventID])

                #expect(try await a.terminate() == 0, "A:\n\(a.output.suffix(2000))")
                #expect(try await b.terminate() == 0, "B:\n\(b.output.suffix(2000))")
            }
        }
    }
}

/// What was true the moment process A was killed.
final class KillRecord: Sendable {
    private struct State {
        var killing = false
        var instant: ContinuousClock.Instant?
        var sinkCount = 0
        var ackedCount = 0
        var attemptsByA = 0.0
    }
    private let state = Mutex(State())

    func record(at instant: ContinuousClock.Instant, sinkCount: Int, ackedCount: Int, attemptsByA: Double) {
        state.withLock { $0 = State(killing: true, instant: instant, sinkCount: sinkCount, ackedCount: ackedCount, attemptsByA: attemptsByA) }
    }

    /// Set just before the signal, so a connection to A that fails from then on is expected to.
    func markKilling() { state.withLock { $0.killing = true } }
    var killing: Bool { state.withLock { $0.killing } }

    var instant: ContinuousClock.Instant? { state.withLock { $0.instant } }
    var sinkCount: Int { state.withLock { $0.sinkCount } }
    var ackedCount: Int { state.withLock { $0.ackedCount } }
    var attemptsByA: Double { state.withLock { $0.attemptsByA } }
}

/// Samples how many requests the sink has recorded every few milliseconds,
/// which brackets when each request (by index) was recorded.
final class ArrivalClock: Sendable {
    typealias Sample = (count: Int, at: ContinuousClock.Instant)
    private let sink: RecordingSink
    private let state = Mutex([Sample]())

    init(sink: RecordingSink) {
        self.sink = sink
        state.withLock { $0.append((sink.received.count, .now)) }
    }

    /// Samples until cancelled.
    func sample() async {
        while !Task.isCancelled {
            let count = sink.received.count
            let now = ContinuousClock.now
            state.withLock { $0.append((count, now)) }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    var samples: [Sample] { state.withLock { $0 } }

    /// No earlier than the last sample that had not seen request `index` yet.
    static func earliestArrival(of index: Int, samples: [Sample]) -> ContinuousClock.Instant {
        samples.last { $0.count <= index }?.at ?? samples[0].at
    }

    /// No later than the first sample that had seen request `index` (nil if none had).
    static func latestArrival(of index: Int, samples: [Sample]) -> ContinuousClock.Instant? {
        samples.first { $0.count > index }?.at
    }
}
