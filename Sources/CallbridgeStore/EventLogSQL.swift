/// SQL fragments that state a rule of the `EventLog` contract, shared by the
/// SQLite and PostgreSQL logs so both apply the same rule (both dialects
/// accept them as written).
///
/// Invariant: a fragment only reads; parameters are passed in as
/// placeholders (`?` for SQLite, `$n` for PostgreSQL).
package enum EventLogSQL {
    /// "A delivery `d` of event `e` in this replay state, not replayed yet":
    /// the rule of `ReplayState.includes(_:)`.
    package static func replayDeliveryCondition(_ state: ReplayState) -> String {
        let inState: String
        switch state {
        case .dead: inState = "d.state = 'dead'"
        case .succeeded: inState = "d.state = 'succeeded'"
        case .failed: inState = "d.state = 'pending' AND d.attempt_count > 0"
        }
        return "d.event_id = e.id AND d.superseded_by IS NULL AND " + inState
    }

    /// Events (alias `e`) received before the cut-off bound at `cutoff`, with
    /// nothing left to deliver: the rule of `RetentionLog`.
    package static func prunableCondition(cutoff: String) -> String {
        """
        e.received_at_ms < \(cutoff) AND NOT EXISTS (
            SELECT 1 FROM deliveries d WHERE d.event_id = e.id
              AND (d.state IN ('pending', 'in_flight') OR (d.state = 'dead' AND d.superseded_by IS NULL)))
        """
    }
}
