/// The lifecycle of one HTTP/1 connection as `ConnectionGuardHandler` sees
/// it: which deadline is armed, and what to do with a request the decoder
/// could not read. Pure: no I/O and no clock; the handler performs the
/// returned actions. Unit-tested in `ConnectionGuardStateMachineTests`.
///
/// Phases of the request being read: `betweenRequests` (the idle deadline
/// runs while no response is owed) → `head` (first byte seen; header
/// deadline) → `body` (head complete; body deadline) → `betweenRequests`
/// once the body ended. `unanswered` counts heads whose response has not
/// ended yet (HTTP/1 pipelining can make it more than one).
///
/// Invariants: at most one deadline is armed; no deadline runs while a
/// complete request waits for our own response (our work is bounded
/// elsewhere); a malformed request is answered exactly once, either now by
/// the guard (nothing else is owed on the connection) or by the responder
/// already reading it, never both.
struct ConnectionGuardStateMachine: Sendable {
    enum Reading: Sendable, Hashable { case betweenRequests, head, body }
    enum Deadline: Sendable, Hashable { case idle, head, body }

    enum TimerAction: Sendable, Hashable {
        case arm(Deadline)
        case disarm
        case none
    }

    enum TimeoutAction: Sendable, Hashable {
        /// Close without an answer (idle, or a response is still owed for an earlier request).
        case close
        /// Answer 408 and close: nothing else is owed on the connection.
        case answerTimeoutAndClose
        /// Fail the body stream; the responder reading it answers 408.
        case failRequestBody
        case ignore
    }

    enum ParseErrorAction: Sendable, Hashable {
        /// Nothing is owed on this connection: the guard answers with JSON and closes.
        case answerNowAndClose
        /// Pass the error on; the framework's own empty 400 that follows is rewritten or dropped.
        case forward
    }

    enum OutboundAction: Sendable, Hashable {
        case passThrough
        /// The framework's empty 400 for a request nobody else answered: replace it with JSON.
        case rewriteAsJSON
        /// The framework's empty 400 for a request the responder already answered: drop it.
        case drop
        /// The end of a rewritten or dropped response: the connection closes after it.
        case endThenClose(dropped: Bool)
    }

    private enum Synthetic: Sendable, Hashable { case none, rewrite, drop, rewriting, dropping }

    private(set) var reading: Reading = .betweenRequests
    private(set) var unanswered = 0
    private(set) var armed: Deadline?
    private(set) var closed = false
    private var synthetic: Synthetic = .none

    mutating func activated() -> TimerAction {
        guard !closed, armed == nil, reading == .betweenRequests, unanswered == 0 else { return .none }
        armed = .idle
        return .arm(.idle)
    }

    /// Raw bytes reached the connection (before decoding).
    mutating func bytesArrived() -> TimerAction {
        guard !closed, reading == .betweenRequests else { return .none }
        reading = .head
        armed = .head
        return .arm(.head)
    }

    mutating func headReceived() -> TimerAction {
        guard !closed else { return .none }
        reading = .body
        unanswered += 1
        armed = .body
        return .arm(.body)
    }

    mutating func endReceived() -> TimerAction {
        guard !closed else { return .none }
        reading = .betweenRequests
        if unanswered == 0 {
            // The response went out before the body was read (413, say): idle from now.
            armed = .idle
            return .arm(.idle)
        }
        armed = nil
        return .disarm
    }

    /// A response's end was written.
    mutating func responseEnded() -> TimerAction {
        unanswered = max(0, unanswered - 1)
        guard !closed, unanswered == 0, reading == .betweenRequests, armed == nil else { return .none }
        armed = .idle
        return .arm(.idle)
    }

    mutating func timerFired(_ deadline: Deadline) -> TimeoutAction {
        guard !closed, armed == deadline else { return .ignore }
        armed = nil
        switch deadline {
        case .idle:
            closed = true
            return .close
        case .head:
            closed = true
            return unanswered == 0 ? .answerTimeoutAndClose : .close
        case .body:
            return .failRequestBody
        }
    }

    /// The decoder refused the bytes (a malformed request line, headers too large, bad chunking).
    mutating func parseErrorCaught() -> ParseErrorAction {
        if reading != .body && unanswered == 0 && !closed {
            closed = true
            armed = nil
            return .answerNowAndClose
        }
        // Reading a body: the responder reading it answers, so the framework's 400 is one too many.
        // Between requests with a response owed: the framework answers after it, and that answer is ours to fix.
        synthetic = reading == .body ? .drop : .rewrite
        return .forward
    }

    /// A response head is being written; `frameworkBadRequest` when it is the
    /// framework's bodiless 400 for a parse error.
    mutating func responseHead(frameworkBadRequest: Bool) -> OutboundAction {
        guard frameworkBadRequest else { return .passThrough }
        switch synthetic {
        case .rewrite:
            synthetic = .rewriting
            return .rewriteAsJSON
        case .drop:
            synthetic = .dropping
            return .drop
        case .none, .rewriting, .dropping:
            return .passThrough
        }
    }

    /// Whether a response body part is dropped.
    var dropsBody: Bool { synthetic == .dropping }

    /// A response end is being written; on `.passThrough` the caller reports `responseEnded()` after it.
    mutating func responseEnd() -> OutboundAction {
        switch synthetic {
        case .rewriting, .dropping:
            let dropped = synthetic == .dropping
            synthetic = .none
            // Neither answers a counted head: the rewritten one answers bytes that never became a head,
            // the dropped one a head the responder already answered.
            closed = true
            armed = nil
            return .endThenClose(dropped: dropped)
        case .none, .rewrite, .drop:
            return .passThrough
        }
    }
}
