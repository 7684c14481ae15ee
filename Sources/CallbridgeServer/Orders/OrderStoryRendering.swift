import CallbridgeModel
import CallbridgeStore

/// How an order and its story are shown: one JSON shape for
/// `GET /admin/v1/orders/{provider}/{order_id}` and `callbridge orders show
/// --json`, and the text table of `orders show`.
///
/// Invariant: the JSON is the ledger entry's own members (`OrderLedgerEntry.json`)
/// plus `timeline`, one item per placement in sequence order (a return that
/// asked for a status check carries `status_check`: the answer that answered
/// it and the verdict), and `status_check`: the order's job and its recent tries.
public enum OrderStoryRendering {
    public static func json(entry: OrderLedgerEntry, story: [OrderStoryItem], statusCheck: StatusCheckDetail?) -> JSONValue {
        guard case .object(var members) = entry.json else { return entry.json }
        let hints = Dictionary((statusCheck?.hints ?? []).map { ($0.eventID, $0) }, uniquingKeysWith: { a, _ in a })
        members.append(("timeline", .array(story.map { item($0, hint: hints[$0.event.id]) })))
        members.append(("status_check", statusCheck.map(checkJSON) ?? .null))
        return .object(members)
    }

    public static func checkJSON(_ detail: StatusCheckDetail) -> JSONValue {
        guard case .object(var members) = detail.check.json else { return detail.check.json }
        members.append(("recent_tries", .array(detail.tries.map(\.json))))
        members.append(("hints_waiting", .number(String(detail.hints.filter { $0.verdict == nil }.count))))
        return .object(members)
    }

    static func hintJSON(_ hint: StatusCheckHint) -> JSONValue {
        .object([
            ("answered_by", hint.answeredBy.map { .string($0.rawValue) } ?? .null),
            ("verdict", hint.verdict.map { .string($0.label) } ?? .null),
            ("detail", hint.verdict?.detail.map(JSONValue.string) ?? .null),
        ])
    }

    static func item(_ item: OrderStoryItem, hint: StatusCheckHint?) -> JSONValue {
        let data = item.event.data
        func str(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        return .object([
            ("sequence", data.order.map { .number(String($0.sequence)) } ?? .null),
            ("event_id", .string(item.event.id.rawValue)),
            ("revision", .number(String(item.revision))),
            ("current", .bool(item.isCurrent)),
            ("type", .string(item.event.type.rawValue)),
            ("channel", .string(data.channel.rawValue)),
            ("verified", .bool(data.verified)),
            ("verification", .string(data.verification.rawValue)),
            ("provider_status", str(data.providerStatus)),
            ("amount", str(data.amount?.text)),
            ("currency", str(data.currency?.code)),
            ("received_at", .string(data.receivedAt.rfc3339)),
            ("order", data.order?.json ?? .null),
            ("deliveries", .array(item.deliveries.map(delivery))),
            ("status_check", hint.map(hintJSON) ?? .null),
        ])
    }

    static func delivery(_ delivery: DeliveryRecord) -> JSONValue {
        .object([
            ("id", .number(String(delivery.id))),
            ("endpoint", .string(delivery.endpoint)),
            ("state", .string(delivery.state.rawValue)),
            ("attempt_count", .number(String(delivery.attemptCount))),
            ("last_status_code", delivery.lastStatusCode.map { .number(String($0)) } ?? .null),
            ("last_error", delivery.lastError.map(JSONValue.string) ?? .null),
            ("superseded_by", delivery.supersededBy.map { .number(String($0)) } ?? .null),
        ])
    }

    /// The entry as a few `name: value` lines and the timeline as a table,
    /// every value passed through `escape` (terminal safety is the caller's).
    public static func text(entry: OrderLedgerEntry, story: [OrderStoryItem], statusCheck: StatusCheckDetail?, escape: (String) -> String) -> String {
        let hints = Dictionary((statusCheck?.hints ?? []).map { ($0.eventID, $0) }, uniquingKeysWith: { a, _ in a })
        func money(_ amount: DecimalAmount?, _ currency: CurrencyCode?) -> String {
            guard let amount else { return "-" }
            return amount.text + (currency.map { " " + $0.code } ?? "")
        }
        var lines = [
            "order     \(escape(entry.provider)) \(escape(entry.orderID))",
            "state     \(entry.state.rawValue)" + (entry.hasMismatch ? "  (MISMATCH: \(entry.counts.mismatches) event(s) disagree on money)" : ""),
            "amount    \(money(entry.amount, entry.currency))   expected \(money(entry.expectedAmount, entry.expectedCurrency))"
                + "   paid \(money(entry.paidAmount, entry.currency))   refunded \(entry.refundedAmount.text)",
            "events    \(entry.counts.events) (\(entry.counts.verified) verified, \(entry.counts.hints) hints; "
                + "\(entry.counts.advanced) advanced, \(entry.counts.repeated) repeated, \(entry.counts.stale) stale, \(entry.counts.conflicts) conflict)",
            "seen      \(entry.firstSeenAt?.rfc3339 ?? "-") .. \(entry.lastSeenAt?.rfc3339 ?? "-")",
            "checks    " + (statusCheck.map { checkLine($0, escape: escape) } ?? "-"),
            "",
            "SEQ  RECEIVED                  CHANNEL      VERIFIED  TYPE                TRANSITION  STATE               EVENT                           DELIVERIES",
        ]
        for item in story {
            let data = item.event.data
            let seq = data.order.map { String($0.sequence) } ?? "-"
            let transition = data.order?.transition.rawValue ?? "-"
            let state = data.order.map { $0.previousState == $0.state ? $0.state.rawValue : "\($0.previousState.rawValue)->\($0.state.rawValue)" } ?? "-"
            let deliveries = item.deliveries.map { "\(escape($0.endpoint))=\($0.state.rawValue)" }.joined(separator: ",")
            var line = pad(seq, 4) + " " + pad(data.receivedAt.rfc3339, 25) + " " + pad(data.channel.rawValue, 12) + " "
            line += pad(data.verified ? "yes" : "no", 9) + " " + pad(item.event.type.rawValue, 19) + " " + pad(transition, 11) + " "
            line += pad(state, 19) + " " + pad(item.event.id.rawValue + (item.isCurrent ? "" : " r\(item.revision)"), 31) + " "
            line += deliveries.isEmpty ? "-" : deliveries
            lines.append(line)
            for m in data.order?.mismatch ?? [] {
                lines.append("     mismatch \(escape(m.field)): expected \(escape(m.expected)), got \(escape(m.got))")
            }
            if item.isCurrent, let hint = hints[item.event.id] {
                switch hint.verdict {
                case nil: lines.append("     status check: waiting for the provider's answer")
                case .confirmed?: lines.append("     status check: confirmed by \(hint.answeredBy?.rawValue ?? "-")")
                case .differs(let list)?: lines.append("     status check: DIFFERS (\(hint.answeredBy?.rawValue ?? "-")): \(escape(list.joined(separator: "; ")))")
                case .unanswered(let why)?: lines.append("     status check: unanswered: \(escape(why))")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    static func checkLine(_ detail: StatusCheckDetail, escape: (String) -> String) -> String {
        let check = detail.check
        var line = "\(check.state.rawValue)"
        if let due = check.dueAt { line += " (next \(check.reason.rawValue) check at \(due.rfc3339))" }
        line += "; \(check.tries) tries, \(check.answers) answered"
        if let outcome = check.lastOutcome { line += "; last \(outcome.rawValue)" + (check.lastTriedAt.map { " at \($0.rfc3339)" } ?? "") }
        if let error = check.lastError { line += ": \(escape(error))" }
        return line
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
