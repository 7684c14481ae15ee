import Synchronization

/// The hand-over point between callers (any thread) and the curl thread.
///
/// Callers append commands under a `Mutex` and wake the curl thread with
/// `curl_multi_wakeup`; the curl thread drains the commands at the top of each
/// loop turn. Queue and lifecycle are a ``StateMachine``.
///
/// `curl_multi_wakeup` is called *under* the lock, and only while the state
/// machine still holds the wake-up handle (running or stopping); the curl
/// thread moves it to `stopped` under the same lock *before* it calls
/// `curl_multi_cleanup`, so no thread can wake a freed multi handle.
final class CurlMailbox: Sendable {
    /// Work for the curl thread.
    enum Command {
        /// Start the ticket's transfer.
        case start(TransferTicket)
        /// Drop the ticket's transfer if it is running (its task was cancelled
        /// and has already been resumed).
        case cancel(TransferTicket)
    }

    typealias Waiter = CheckedContinuation<Void, Never>

    private let state: Mutex<StateMachine<Command, CurlMultiWakeup, Waiter>>

    init(wakeup: CurlMultiWakeup) {
        state = Mutex(StateMachine(wakeup: wakeup))
    }

    /// Queues `ticket` for the curl thread. Returns `false` if the transport
    /// is stopping or stopped; the caller then fails the ticket. Any thread.
    func submit(_ ticket: TransferTicket) -> Bool {
        enqueue(.start(ticket))
    }

    /// Asks the curl thread to drop `ticket`'s transfer. Any thread.
    func cancel(_ ticket: TransferTicket) {
        _ = enqueue(.cancel(ticket))
    }

    private func enqueue(_ command: Command) -> Bool {
        state.withLock { state in
            switch state.enqueue(command) {
            case .wake(let wakeup):
                wakeup.wake()
                return true
            case .reject:
                return false
            }
        }
    }

    /// Asks the curl thread to fail every request and exit. `waiter`, if any,
    /// is resumed once it has. Any thread; idempotent.
    func requestStop(waiter: Waiter?) {
        let resumeNow: Bool = state.withLock { state in
            switch state.requestStop(waiter: waiter) {
            case .wake(let wakeup):
                wakeup.wake()
                return false
            case .none:
                return false
            case .resumeNow:
                return true
            }
        }
        if resumeNow { waiter?.resume() }
    }

    /// Takes every queued command. Curl thread only.
    func drain() -> (commands: [Command], stopRequested: Bool) {
        let drained = state.withLock { $0.drain() }
        return (drained.items, drained.stopRequested)
    }

    /// Records that the curl thread is leaving and will free the multi handle;
    /// returns the `shutdown()` callers to resume. Curl thread only.
    func markStopped() -> [Waiter] {
        state.withLock { $0.markStopped() }
    }
}
