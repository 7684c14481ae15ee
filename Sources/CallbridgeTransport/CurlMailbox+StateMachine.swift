extension CurlMailbox {
    /// The mailbox's queue and lifecycle as a value with no I/O: transitions
    /// return what the mailbox must do (wake the curl thread, reject, resume
    /// a `shutdown()` caller).
    ///
    /// ```
    /// running ──requestStop──▶ stopping ──markStopped──▶ stopped
    /// ```
    ///
    /// Only `running` accepts work. `stopping` and `stopped` report a stop to
    /// the curl thread; `stopped` means the wake-up handle is gone.
    /// Generic so tests can drive it with plain values.
    struct StateMachine<Item, Wakeup, Waiter> {
        enum Lifecycle {
            case running(Wakeup)
            case stopping(Wakeup, waiters: [Waiter])
            case stopped
        }

        enum EnqueueAction {
            /// Queued: wake the curl thread with this handle.
            case wake(Wakeup)
            /// Not running any more: the caller fails the item itself.
            case reject
        }

        enum StopAction {
            /// Stop requested: wake the curl thread with this handle.
            case wake(Wakeup)
            /// Already stopping; the waiter (if any) is queued.
            case none
            /// Already stopped: resume the waiter now.
            case resumeNow
        }

        private(set) var lifecycle: Lifecycle
        private(set) var items: [Item] = []

        init(wakeup: Wakeup) {
            lifecycle = .running(wakeup)
        }

        /// Queues `item` for the curl thread if still running.
        mutating func enqueue(_ item: Item) -> EnqueueAction {
            guard case .running(let wakeup) = lifecycle else { return .reject }
            items.append(item)
            return .wake(wakeup)
        }

        /// Asks the curl thread to stop; `waiter` is resumed once it has.
        mutating func requestStop(waiter: Waiter?) -> StopAction {
            switch lifecycle {
            case .running(let wakeup):
                lifecycle = .stopping(wakeup, waiters: waiter.map { [$0] } ?? [])
                return .wake(wakeup)
            case .stopping(let wakeup, var waiters):
                if let waiter { waiters.append(waiter) }
                lifecycle = .stopping(wakeup, waiters: waiters)
                return .none
            case .stopped:
                return .resumeNow
            }
        }

        /// Takes every queued item; `stopRequested` once a stop was asked for.
        mutating func drain() -> (items: [Item], stopRequested: Bool) {
            let drained = items
            items.removeAll()
            switch lifecycle {
            case .running: return (drained, false)
            case .stopping, .stopped: return (drained, true)
            }
        }

        /// The curl thread is leaving: forget the wake-up handle and return
        /// the waiters to resume.
        mutating func markStopped() -> [Waiter] {
            defer { lifecycle = .stopped }
            switch lifecycle {
            case .stopping(_, let waiters): return waiters
            case .running, .stopped: return []
            }
        }
    }
}
