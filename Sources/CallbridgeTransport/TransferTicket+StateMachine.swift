extension TransferTicket {
    /// Who resumes a waiting caller, and when: the exactly-once rule of
    /// ``TransferTicket`` as a value with no I/O. Transitions return an action
    /// that the ticket performs outside its lock.
    ///
    /// ```
    /// waiting ──install──▶ suspended ──finish / cancel──▶ finished
    ///    │
    ///    └──cancel──▶ cancelledBeforeSuspending ──install──▶ finished
    /// ```
    ///
    /// Generic over the waiter so tests can drive it without a real
    /// continuation.
    struct StateMachine<Waiter> {
        enum State {
            /// Created; the task has not suspended yet.
            case waiting
            /// The task is suspended on the waiter.
            case suspended(Waiter)
            /// Cancelled before the task suspended.
            case cancelledBeforeSuspending
            /// The waiter has been (or is being) resumed.
            case finished
        }

        enum InstallAction {
            /// Hand the request to the curl thread.
            case submit
            /// Resume the waiter with `.cancelled` now; submit nothing.
            case resumeCancelled
        }

        enum ResumeAction {
            /// Resume this waiter (with the result, or `.cancelled`).
            case resume(Waiter)
            /// Someone else resumed it, or nobody waits yet.
            case none
        }

        private(set) var state: State = .waiting

        /// The task suspended with `waiter`.
        mutating func install(_ waiter: Waiter) -> InstallAction {
            switch state {
            case .waiting:
                state = .suspended(waiter)
                return .submit
            case .cancelledBeforeSuspending:
                state = .finished
                return .resumeCancelled
            case .suspended, .finished:
                preconditionFailure("TransferTicket installed twice")
            }
        }

        /// A result (response or error) is ready.
        mutating func finish() -> ResumeAction {
            switch state {
            case .suspended(let waiter):
                state = .finished
                return .resume(waiter)
            case .waiting:
                assertionFailure("TransferTicket finished before install")
                return .none
            case .cancelledBeforeSuspending, .finished:
                return .none
            }
        }

        /// The task was cancelled.
        mutating func cancel() -> ResumeAction {
            switch state {
            case .waiting:
                state = .cancelledBeforeSuspending
                return .none
            case .suspended(let waiter):
                state = .finished
                return .resume(waiter)
            case .cancelledBeforeSuspending, .finished:
                return .none
            }
        }

        /// Whether the waiter has been or will be resumed without a transfer.
        var isFinished: Bool {
            switch state {
            case .finished, .cancelledBeforeSuspending: true
            case .waiting, .suspended: false
            }
        }
    }
}
