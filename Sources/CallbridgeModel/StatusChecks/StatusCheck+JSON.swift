// MARK: - JSON (the log's `check` column, the admin API and `orders show --json`)

extension StatusCheck {
    public var json: JSONValue {
        func str(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        func num(_ n: Int64) -> JSONValue { .number(String(n)) }
        return .object([
            ("provider", .string(provider)),
            ("order_id", .string(orderID)),
            ("transaction_id", str(transactionID)),
            ("state", .string(state.rawValue)),
            ("due_at", str(dueAt?.rfc3339)),
            ("lease_owner", str(leaseOwner)),
            ("lease_expires_at", str(leaseExpiresAt?.rfc3339)),
            ("lease_generation", num(leaseGeneration)),
            ("reason", .string(reason.rawValue)),
            ("poll_next", pollNext.map { num(Int64($0)) } ?? .null),
            ("failures", num(Int64(failures))),
            ("tries", num(tries)),
            ("answers", num(answers)),
            ("last_tried_at", str(lastTriedAt?.rfc3339)),
            ("last_outcome", str(lastOutcome?.rawValue)),
            ("last_error", str(lastError)),
            ("last_answer_event_id", str(lastAnswerEventID?.rawValue)),
            ("created_at", .string(createdAt.rfc3339)),
        ])
    }

    /// Reads what `json` wrote.
    public init(json: JSONValue) throws(EventDecodingError) {
        let reader = JSONMemberReader(json: json, prefix: "status_check")
        let text = reader.text, time = reader.time, count = reader.count
        guard let provider = try text("provider"), let orderID = try text("order_id"), let created = try time("created_at") else {
            throw .invalid("status_check")
        }
        self.init(provider: provider, orderID: orderID, createdAt: created)
        transactionID = try text("transaction_id")
        guard let s = try text("state"), let state = State(rawValue: s) else { throw .invalid("status_check.state") }
        self.state = state
        dueAt = try time("due_at")
        leaseOwner = try text("lease_owner")
        leaseExpiresAt = try time("lease_expires_at")
        leaseGeneration = try count("lease_generation") ?? 0
        guard let r = try text("reason"), let reason = StatusCheckReason(rawValue: r) else { throw .invalid("status_check.reason") }
        self.reason = reason
        pollNext = try count("poll_next").map { Int(clamping: $0) }
        failures = Int(clamping: try count("failures") ?? 0)
        tries = try count("tries") ?? 0
        answers = try count("answers") ?? 0
        lastTriedAt = try time("last_tried_at")
        if let o = try text("last_outcome") {
            guard let outcome = StatusCheckOutcome(rawValue: o) else { throw .invalid("status_check.last_outcome") }
            lastOutcome = outcome
        }
        lastError = try text("last_error")
        if let id = try text("last_answer_event_id") {
            guard let eventID = EventID(id) else { throw .invalid("status_check.last_answer_event_id") }
            lastAnswerEventID = eventID
        }
        guard (state == .waiting) == (dueAt != nil), (state == .leased) == (leaseOwner != nil && leaseExpiresAt != nil) else {
            throw .invalid("status_check.state")
        }
    }
}
