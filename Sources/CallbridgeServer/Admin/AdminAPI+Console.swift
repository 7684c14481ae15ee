import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import Hummingbird

/// The admin routes the operator console reads besides the CLI's: the
/// status-check queue with its latest tries, and activity per time bucket.
extension AdminAPI {
    /// The windows `GET /admin/v1/stats` takes, each with its bucket size:
    /// at most 96 buckets, so an answer stays small whatever is asked.
    enum StatsWindow: String, CaseIterable {
        case fifteenMinutes = "15m"
        case oneHour = "1h"
        case sixHours = "6h"
        case oneDay = "24h"

        var milliseconds: Int64 {
            switch self {
            case .fifteenMinutes: return 15 * 60_000
            case .oneHour: return 60 * 60_000
            case .sixHours: return 6 * 60 * 60_000
            case .oneDay: return 24 * 60 * 60_000
            }
        }

        var bucketMilliseconds: Int64 {
            switch self {
            case .fifteenMinutes, .oneHour: return 60_000
            case .sixHours: return 5 * 60_000
            case .oneDay: return 15 * 60_000
            }
        }
    }

    /// `GET /admin/v1/status-checks`: queue depth per provider (every
    /// provider with a status API, and any other with jobs in the log) and
    /// the latest tries across every order.
    func statusChecks(_ query: AdminQuery) async throws -> Response {
        let limit = try query.integer("limit", in: 1...200) ?? 50
        let queue = try await log.statusCheckQueue()
        let providers = Set(queue.keys).union(handlers.statusAPIs.keys).sorted()
        let now = clock()
        let depth = providers.map { provider -> JSONValue in
            let d = queue[provider] ?? StatusCheckQueueDepth(waiting: 0, leased: 0, oldestDue: nil)
            return .object([
                ("provider", .string(provider)),
                ("configured", .bool(handlers.statusAPIs[provider] != nil)),
                ("waiting", .number(String(d.waiting))), ("leased", .number(String(d.leased))),
                ("oldest_due_at", d.oldestDue.map { .string($0.rfc3339) } ?? .null),
                ("oldest_due_age_ms", d.oldestDue.map { .number(String(max(0, now.milliseconds(since: $0)))) } ?? .null),
            ])
        }
        let recent = try await log.recentStatusCheckTries(limit: limit).map { item -> JSONValue in
            guard case .object(var members) = item.attempt.json else { return item.attempt.json }
            members.insert(contentsOf: [("provider", .string(item.provider)), ("order_id", .string(item.orderID))], at: 0)
            return .object(members)
        }
        return JSONResponse.make(status: 200, .object([("queue", .array(depth)), ("recent", .array(recent))]))
    }

    /// `GET /admin/v1/stats`: events received and delivery attempts per
    /// bucket over the window that ends with the current bucket.
    func stats(_ query: AdminQuery) async throws -> Response {
        let window = try query.oneOf("window", StatsWindow.self) ?? .oneHour
        let step = window.bucketMilliseconds
        let now = clock().millisecondsSinceEpoch
        let floored = now >= 0 ? now / step : (now - step + 1) / step  // rounds down before 1970 too
        let end = Timestamp(millisecondsSinceEpoch: floored * step + step)
        let start = end.adding(milliseconds: -window.milliseconds)
        let buckets = try await log.activity(since: start, until: end, bucketMilliseconds: step)
        var events = 0, attempts = 0, succeeded = 0
        var duration: Int64 = 0, longest: Int64 = 0
        let rows = buckets.map { bucket -> JSONValue in
            events += bucket.events
            attempts += bucket.attempts
            succeeded += bucket.succeeded
            duration += bucket.totalDurationMilliseconds
            longest = max(longest, bucket.maxDurationMilliseconds)
            return .object([
                ("start", .string(bucket.start.rfc3339)),
                ("events", .number(String(bucket.events))),
                ("attempts", .number(String(bucket.attempts))),
                ("succeeded", .number(String(bucket.succeeded))),
                ("average_duration_ms", bucket.attempts == 0 ? .null : .number(String(bucket.totalDurationMilliseconds / Int64(bucket.attempts)))),
                ("max_duration_ms", bucket.attempts == 0 ? .null : .number(String(bucket.maxDurationMilliseconds))),
            ])
        }
        return JSONResponse.make(status: 200, .object([
            ("window", .string(window.rawValue)),
            ("bucket_seconds", .number(String(step / 1000))),
            ("since", .string(start.rfc3339)),
            ("until", .string(end.rfc3339)),
            ("buckets", .array(rows)),
            ("totals", .object([
                ("events", .number(String(events))), ("attempts", .number(String(attempts))), ("succeeded", .number(String(succeeded))),
                ("average_duration_ms", attempts == 0 ? .null : .number(String(duration / Int64(attempts)))),
                ("max_duration_ms", attempts == 0 ? .null : .number(String(longest))),
            ])),
        ]))
    }
}

extension AdminQuery {
    /// `true` or `false`, exactly.
    func boolean(_ name: String) throws -> Bool? {
        guard let text = values[name] else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: throw IngestError.invalidParameter("query parameter '\(name)' must be true or false, got '\(AdminText.printable(text))'")
        }
    }

    /// An RFC 3339 date-time (see `AdminTime`).
    func time(_ name: String) throws -> Timestamp? {
        guard let text = values[name] else { return nil }
        guard let time = AdminTime.parse(text) else {
            throw IngestError.invalidParameter("query parameter '\(name)' must be an RFC 3339 date-time such as 2026-11-23T10:00:00Z, got '\(AdminText.printable(text))'")
        }
        return time
    }
}
