import Synchronization

/// Bounds the background work that unauthenticated requests can start (the
/// confirmation of an unsigned return): `limits.inFlight` run at once and
/// `limits.queued` wait in line; `admit()` refuses anything beyond, without
/// creating a task, so a flood of returns costs neither memory nor calls to
/// the provider.
///
/// Invariants: `running <= inFlight`; `admitted <= inFlight + queued`;
/// waiters are resumed in arrival order, each exactly once.
public final class ConfirmationLimiter: Sendable {
    public let limits: ConfirmationLimits

    private struct State {
        var admitted = 0
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        var head = 0
    }

    private let state = Mutex(State())

    public init(limits: ConfirmationLimits) {
        self.limits = limits
    }

    /// Reserves a place for one job, or false when the slots and the line are full.
    public func admit() -> Bool {
        state.withLock { state in
            guard state.admitted < limits.inFlight + limits.queued else { return false }
            state.admitted += 1
            return true
        }
    }

    /// Runs an admitted job once a slot is free, then frees its place.
    public func run(_ job: () async -> Void) async {
        // Take a free slot or join the line in one step under the lock, so a slot freed meanwhile is never missed.
        // A waiting job is handed the finishing job's slot (see below), so `running` stays counted.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let runNow = state.withLock { state -> Bool in
                if state.running < limits.inFlight {
                    state.running += 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if runNow { continuation.resume() }
        }
        await job()
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.admitted -= 1
            guard state.head < state.waiters.count else {
                state.running -= 1
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
                return nil
            }
            let continuation = state.waiters[state.head]
            state.head += 1
            return continuation
        }
        next?.resume()
    }

    /// Jobs admitted and not finished (running or waiting), for tests and metrics.
    public var pending: Int { state.withLock { $0.admitted } }
}
