import CallbridgeCrypto
import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Synchronization
import Testing

/// Crash cycles (P5 item 8): the real binary, on one SQLite log, is killed
/// with SIGKILL at a random moment of concurrent signed ingest and delivery,
/// and restarted, 20 times; then it drains to the sink. Every acked event id
/// must be in the log and at the sink, and every duplicate at the sink must be
/// explained by an expired lease: its earlier copy was sent by a process that
/// was then killed, and the later one came at least `lease_margin` after it
/// (a lease lasts the endpoint timeout plus the margin from before the first
/// send, so no live lease can be taken over sooner).
@Suite(.serialized) struct CrashCycleTests {
    static let secret = "whsec_" + ByteEncoding.base64(Array("crash-cycle-endpoint-signing-key".utf8))
    static let cycles = 20
    static let leaseMargin: Duration = .seconds(1)
    /// The sink records a request when it has read it whole; arrival times are exact to a few ms.
    static let leaseSlack: Duration = .milliseconds(50)
    /// A copy the killed process had already written may be read by the sink just after the
    /// kill; less than the 3 s before any of its leases can expire.
    static let killSlack: Duration = .milliseconds(900)

    static func config(sinkPort: Int) -> String {
        """
        listen: {host: 127.0.0.1, port: 0}
        storage: {sqlite: ./data/callbridge.sqlite}
        handlers: \(repositoryRoot)/handlers
        dispatch: {lease_margin: 1s, poll_interval: 200ms, breaker_failures: 1000, shutdown_grace: 2s}
        endpoints:
          - name: orders
            url: http://127.0.0.1:\(sinkPort)/orders
            secret: ${ORDERS_SECRET}
            timeout: 2s
            max_in_flight: 8
            retry_schedule: [0s, 100ms, 200ms, 300ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms]
        """
    }

    /// Posts signed webhooks on `workers` connections until the process dies (at most
    /// `perCycleLimit`); returns the acked event ids.
    static func ingestUntilKilled(port: Int, cycle: Int, workers: Int, perCycleLimit: Int = 400,
                                  isKilled: @escaping @Sendable () -> Bool) async -> [String] {
        let counter = Tally()
        return await withTaskGroup(of: [String].self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var acked: [String] = []
                    while true {
                        let n = counter.next()
                        // Bounded, so the drain stays short however fast the binary is.
                        guard n < perCycleLimit else { return acked }
                        let body = JuspayWebhook.body(id: "evt_cc_\(cycle)_\(n)", order: cycle * 100_000 + n)
                        let (response, problem) = await LiveServer.exchange(Wire.webhook(body), port: port, timeout: .seconds(5))
                        guard let response else {
                            // A request cut off by the kill is neither acked nor an error.
                            if !isKilled() { Issue.record("cycle \(cycle): webhook \(n) got no answer before the kill: \(problem ?? "")") }
                            return acked
                        }
                        if let id = HostileInputTests.ackedEventID(response) {
                            acked.append(id)
                        } else {
                            Issue.record("cycle \(cycle): webhook \(n) answered \(response.status): \(response.bodyText.prefix(200))")
                        }
                        if isKilled() { return acked }
                    }
                }
            }
            var all: [String] = []
            for await ids in group { all += ids }
            return all
        }
    }

    @Test func everyAckedEventSurvivesTwentyKillDashNineCycles() async throws {
        let started = ContinuousClock.now
        let seed = ProcessInfo.processInfo.environment["CALLBRIDGE_CRASH_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        var random = SplitMix64(state: seed)  // seeded, so CALLBRIDGE_CRASH_SEED repeats a run
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A slow but healthy receiver, so deliveries are in flight most of the time.
        let sink = HostileSink(otherwise: .after(.milliseconds(40), then: .ok))
        try await sink.run { sinkPort in
            try Self.config(sinkPort: sinkPort).write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
            var environment = providerSecrets
            environment["ORDERS_SECRET"] = Self.secret

            var acked: [String] = []
            var kills: [ContinuousClock.Instant] = []
            var perCycle: [String] = []
            for cycle in 0..<Self.cycles {
                let cycleStart = ContinuousClock.now
                let serve = try ServeProcess(config: "callbridge.yaml", directory: dir, environment: environment)
                try await serve.waitUntilListening()
                let pid = serve.process.processIdentifier
                let killAfter = Duration.milliseconds(Int.random(in: 200...1500, using: &random))
                let killed = Tally()
                let sinkBefore = sink.received.count
                async let ingested = Self.ingestUntilKilled(port: serve.port, cycle: cycle, workers: 4) { killed.value > 0 }
                try await Task.sleep(for: killAfter)
                _ = killed.next()
                kill(pid, SIGKILL)
                kills.append(.now)
                let ids = await ingested
                serve.process.waitUntilExit()
                #expect(serve.process.terminationReason == .uncaughtSignal, "cycle \(cycle): the process was not killed by the signal")
                acked += ids
                perCycle.append("\(ids.count)/\(sink.received.count - sinkBefore)")
                #expect(ContinuousClock.now - cycleStart < .seconds(10), "cycle \(cycle) took \(ContinuousClock.now - cycleStart)")
            }

            // Drain: one more process, never killed, until every acked event is at the sink.
            let drainStart = ContinuousClock.now
            let final = try ServeProcess(config: "callbridge.yaml", directory: dir, environment: environment)
            try await final.waitUntilListening()
            let ackedSet = Set(acked)
            let drained = await eventually(timeout: .seconds(60)) {
                Set(sink.received(path: "/orders").compactMap { $0.header("webhook-id") }).isSuperset(of: ackedSet)
            }
            let atSink = Set(sink.received(path: "/orders").compactMap { $0.header("webhook-id") })
            #expect(drained, "\(ackedSet.subtracting(atSink).count) of \(ackedSet.count) acked events never reached the sink\n\(final.output.suffix(2000))")
            let drainTime = ContinuousClock.now - drainStart
            // Every acked event is in the log.
            let logged = try loggedEventIDs(directory: dir, environment: environment) ?? []
            #expect(logged.isSuperset(of: ackedSet), "\(ackedSet.subtracting(logged).count) acked events are missing from the log")
            #expect(Set(acked).count == acked.count, "an event id was acked twice")
            // Let the last deliveries settle, then stop cleanly.
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await final.terminate() == 0, "the final process did not stop cleanly:\n\(final.output.suffix(2000))")

            // Duplicates: each later copy follows a kill of the process that sent the earlier one,
            // and comes at least lease_margin after it.
            var copies: [String: [ContinuousClock.Instant]] = [:]
            for request in sink.received(path: "/orders") {
                if let id = request.header("webhook-id") { copies[id, default: []].append(request.at) }
            }
            var duplicates = 0
            var maxGap: Duration = .zero
            var minGap: Duration?
            var unexplained: [String] = []
            for (id, times) in copies where times.count > 1 {
                duplicates += times.count - 1
                for (earlier, later) in zip(times, times.dropFirst()) {
                    let gap = later - earlier
                    maxGap = max(maxGap, gap)
                    minGap = min(minGap ?? gap, gap)
                    let killedBetween = kills.contains { earlier <= $0 + Self.killSlack && $0 < later }
                    if !killedBetween || gap < Self.leaseMargin - Self.leaseSlack {
                        unexplained.append("\(id): copies \(gap) apart, \(killedBetween ? "" : "no kill between them")")
                    }
                }
            }
            #expect(unexplained.isEmpty, "duplicates not explained by an expired lease: \(unexplained.prefix(10))")
            let requests = sink.received(path: "/orders").count
            print("""
                crash cycles (seed \(seed)): \(Self.cycles) kill -9 cycles, \(acked.count) acked, \(atSink.intersection(ackedSet).count) of them at the sink, \
                \(logged.intersection(ackedSet).count) in the log; \(requests) sink requests for \(copies.count) distinct events, \(duplicates) duplicates \
                (\(unexplained.count) unexplained), resend gap min \(minGap.map { "\($0)" } ?? "-") max \(maxGap); drain \(drainTime); \
                acked/sink requests per cycle \(perCycle.joined(separator: " ")); total \(ContinuousClock.now - started)
                """)
        }
    }
}

/// A counter shared by concurrent tasks.
final class Tally: Sendable {
    private let count = Mutex(0)

    /// The current value, then one more.
    func next() -> Int {
        count.withLock { value in
            defer { value += 1 }
            return value
        }
    }

    var value: Int { count.withLock { $0 } }
}
