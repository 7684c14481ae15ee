@testable import CallbridgeTransport
import Testing

/// The mailbox's queue and lifecycle, without threads or libcurl.
struct CurlMailboxStateMachineTests {
    typealias Machine = CurlMailbox.StateMachine<Int, String, String>

    @Test func runningQueuesItemsAndWakesTheLoop() {
        var machine = Machine(wakeup: "wake")
        guard case .wake(let wakeup) = machine.enqueue(1) else { Issue.record("expected wake"); return }
        #expect(wakeup == "wake")
        _ = machine.enqueue(2)
        let drained = machine.drain()
        #expect(drained.items == [1, 2])
        #expect(!drained.stopRequested)
        #expect(machine.drain().items.isEmpty)
    }

    @Test func stoppingRejectsNewItemsButHandsOverQueuedOnes() {
        var machine = Machine(wakeup: "wake")
        _ = machine.enqueue(1)
        guard case .wake = machine.requestStop(waiter: "first") else { Issue.record("expected wake"); return }
        guard case .reject = machine.enqueue(2) else { Issue.record("expected reject"); return }
        guard case .none = machine.requestStop(waiter: "second") else { Issue.record("expected none"); return }
        let drained = machine.drain()
        #expect(drained.items == [1])
        #expect(drained.stopRequested)
        #expect(machine.markStopped() == ["first", "second"])
    }

    @Test func stopAfterStoppedResumesAtOnce() {
        var machine = Machine(wakeup: "wake")
        _ = machine.requestStop(waiter: nil)
        #expect(machine.markStopped().isEmpty)
        guard case .resumeNow = machine.requestStop(waiter: "late") else { Issue.record("expected resumeNow"); return }
        guard case .reject = machine.enqueue(1) else { Issue.record("expected reject"); return }
    }
}
