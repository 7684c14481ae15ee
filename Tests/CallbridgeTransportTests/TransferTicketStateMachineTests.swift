@testable import CallbridgeTransport
import Testing

/// The exactly-once rule for resuming a caller, without threads or libcurl.
struct TransferTicketStateMachineTests {
    typealias Machine = TransferTicket.StateMachine<String>

    @Test func finishResumesTheInstalledWaiterOnce() {
        var machine = Machine()
        guard case .submit = machine.install("caller") else { Issue.record("expected submit"); return }
        #expect(!machine.isFinished)
        guard case .resume(let waiter) = machine.finish() else { Issue.record("expected resume"); return }
        #expect(waiter == "caller")
        #expect(machine.isFinished)
        guard case .none = machine.finish() else { Issue.record("resumed twice"); return }
        guard case .none = machine.cancel() else { Issue.record("cancel after finish resumed"); return }
    }

    @Test func cancelWhileSuspendedResumesAndLaterResultsAreDropped() {
        var machine = Machine()
        _ = machine.install("caller")
        guard case .resume(let waiter) = machine.cancel() else { Issue.record("expected resume"); return }
        #expect(waiter == "caller")
        guard case .none = machine.finish() else { Issue.record("resumed twice"); return }
    }

    @Test func cancelBeforeSuspendingMakesInstallResumeWithoutSubmitting() {
        var machine = Machine()
        guard case .none = machine.cancel() else { Issue.record("nothing to resume yet"); return }
        #expect(machine.isFinished)
        guard case .resumeCancelled = machine.install("caller") else { Issue.record("expected resumeCancelled"); return }
        guard case .none = machine.cancel() else { Issue.record("resumed twice"); return }
    }
}
