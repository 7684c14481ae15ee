import CallbridgeServer
import Synchronization
import Testing

/// The bound on background confirmations started by unauthenticated returns.
@Suite struct ConfirmationLimiterTests {
    @Test("admission stops at in-flight plus queued and reopens as jobs finish")
    func admission() async {
        var limits = ConfirmationLimits()
        limits.inFlight = 2
        limits.queued = 3
        let limiter = ConfirmationLimiter(limits: limits)
        #expect((0..<5).allSatisfy { _ in limiter.admit() })
        #expect(!limiter.admit())
        #expect(limiter.pending == 5)
        await limiter.run {}
        #expect(limiter.pending == 4)
        #expect(limiter.admit())
    }

    @Test("no more than in-flight jobs run at once, and every admitted job runs")
    func concurrencyCap() async {
        var limits = ConfirmationLimits()
        limits.inFlight = 3
        limits.queued = 100
        let limiter = ConfirmationLimiter(limits: limits)
        let counters = Counters()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                #expect(limiter.admit())
                group.addTask {
                    await limiter.run {
                        counters.value.withLock { $0.running += 1; $0.peak = max($0.peak, $0.running) }
                        try? await Task.sleep(for: .milliseconds(2))
                        counters.value.withLock { $0.running -= 1; $0.done += 1 }
                    }
                }
            }
        }
        let seen = counters.value.withLock { $0 }
        #expect(seen.done == 40)
        #expect(seen.peak <= 3)
        #expect(seen.peak >= 2)
        #expect(limiter.pending == 0)
    }
}

/// Shared counters for the concurrency test.
private final class Counters: Sendable {
    let value = Mutex((running: 0, peak: 0, done: 0))
}
