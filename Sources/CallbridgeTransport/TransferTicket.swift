import Synchronization

/// The caller's side of one request in flight through ``CurlTransport``: the
/// request, and the continuation of the task waiting for its result.
///
/// Shared by the calling task, its cancellation handler (any thread) and the
/// curl thread, so its ``StateMachine`` sits behind a `Mutex`; continuations
/// are resumed outside the lock. Whoever gets there first — the curl thread
/// with a result, a cancellation, or a shutdown — resumes the caller, and
/// nobody else does: exactly once.
final class TransferTicket: Sendable {
    typealias Continuation = CheckedContinuation<Result<TransportResponse, TransportError>, Never>

    let request: TransportRequest
    private let state = Mutex(StateMachine<Continuation>())

    init(request: TransportRequest) {
        self.request = request
    }

    /// Stores the suspended task's continuation. Returns `false` (after
    /// resuming it with ``TransportError/cancelled``) if the task was cancelled
    /// first, in which case the request must not be submitted.
    func install(_ continuation: Continuation) -> Bool {
        switch state.withLock({ $0.install(continuation) }) {
        case .submit:
            return true
        case .resumeCancelled:
            continuation.resume(returning: .failure(.cancelled))
            return false
        }
    }

    /// Resumes the waiting task with `result` unless it was resumed already.
    /// Any thread, after `install`.
    func finish(_ result: Result<TransportResponse, TransportError>) {
        if case .resume(let continuation) = state.withLock({ $0.finish() }) {
            continuation.resume(returning: result)
        }
    }

    /// The calling task was cancelled: resumes it with
    /// ``TransportError/cancelled`` now if it is suspended, or makes `install`
    /// do so if it has not suspended yet. Returns whether a transfer may be
    /// running that the curl thread should drop. Any thread.
    func cancel() -> Bool {
        guard case .resume(let continuation) = state.withLock({ $0.cancel() }) else { return false }
        continuation.resume(returning: .failure(.cancelled))
        return true
    }

    /// Whether the task has been (or is about to be) resumed; the curl thread
    /// skips such tickets instead of starting their transfer.
    var isFinished: Bool {
        state.withLock { $0.isFinished }
    }
}
