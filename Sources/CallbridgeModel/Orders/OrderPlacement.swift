/// Where one event (one revision of it) sits in its order's story: the
/// envelope's `data.order`.
///
/// Invariants: `sequence` counts the order's placements from 1 in commit
/// order, with no gaps, across every process sharing the log; for an
/// unverified event `state == previousState` (a hint never moves the order)
/// and `transition` says what it would be if it were proven; a `conflict`
/// always lists its `mismatch`, and a `stale` placement may list one too.
public struct OrderPlacement: Sendable, Hashable {
    public var sequence: Int64
    public var state: OrderState
    public var previousState: OrderState
    public var transition: OrderTransition
    public var mismatch: [OrderMismatch]

    public init(sequence: Int64, state: OrderState, previousState: OrderState, transition: OrderTransition, mismatch: [OrderMismatch] = []) {
        self.sequence = sequence
        self.state = state
        self.previousState = previousState
        self.transition = transition
        self.mismatch = mismatch
    }

    public var json: JSONValue {
        .object([
            ("sequence", .number(String(sequence))),
            ("state", .string(state.rawValue)),
            ("previous_state", .string(previousState.rawValue)),
            ("transition", .string(transition.rawValue)),
            ("mismatch", .array(mismatch.map(\.json))),
        ])
    }

    public init(json: JSONValue) throws(EventDecodingError) {
        guard case .number(let seqText)? = json["sequence"], let sequence = Int64(seqText), sequence > 0 else {
            throw .invalid("data.order.sequence")
        }
        guard let s = json["state"]?.stringValue, let state = OrderState(rawValue: s) else { throw .invalid("data.order.state") }
        guard let p = json["previous_state"]?.stringValue, let previous = OrderState(rawValue: p) else {
            throw .invalid("data.order.previous_state")
        }
        guard let t = json["transition"]?.stringValue, let transition = OrderTransition(rawValue: t) else {
            throw .invalid("data.order.transition")
        }
        guard case .array(let items)? = json["mismatch"] else { throw .invalid("data.order.mismatch") }
        var mismatch: [OrderMismatch] = []
        for item in items {
            guard let field = item["field"]?.stringValue, let expected = item["expected"]?.stringValue, let got = item["got"]?.stringValue else {
                throw .invalid("data.order.mismatch")
            }
            mismatch.append(OrderMismatch(field: field, expected: expected, got: got))
        }
        self.init(sequence: sequence, state: state, previousState: previous, transition: transition, mismatch: mismatch)
    }
}
