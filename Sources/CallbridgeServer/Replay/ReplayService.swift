import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore

/// Sends stored events again (docs/ARCHITECTURE.md), for the CLI and the admin
/// API: streams the selection in batches, optionally re-normalizes each
/// event's raw request through today's handler (same id, a new revision kept
/// beside the old), and schedules new deliveries with the same `webhook-id`.
///
/// Targets: with a delivery `state`, the endpoints whose deliveries are in
/// that state (each superseded by its replay); else the named `endpoint`;
/// else every configured endpoint whose filters accept the event and whose
/// `order_events` admits its placement (as at commit). Endpoints
/// no longer configured are skipped and reported.
public struct ReplayService: Sendable {
    public let log: any EventLog
    public let endpoints: [EndpointConfig]
    /// Needed only for `renormalize`.
    public let handlers: HandlerSet?
    public let clock: @Sendable () -> Timestamp

    public init(log: any EventLog, endpoints: [EndpointConfig], handlers: HandlerSet?, clock: @escaping @Sendable () -> Timestamp = SystemClock.now) {
        self.log = log
        self.endpoints = endpoints
        self.handlers = handlers
        self.clock = clock
    }

    public struct Options: Sendable {
        public var renormalize: Bool
        public var dryRun: Bool
        public var batchSize: Int
        public init(renormalize: Bool = false, dryRun: Bool = false, batchSize: Int = 500) {
            self.renormalize = renormalize
            self.dryRun = dryRun
            self.batchSize = max(1, batchSize)
        }
    }

    /// Running totals; `total` is the number of events selected.
    public struct Progress: Sendable, Hashable {
        public var total: Int
        public var events = 0
        public var deliveries = 0
        public var renormalized = 0
        public var typeChanges = 0
        /// Endpoint names targeted but not configured (skipped).
        public var unknownEndpoints: Set<String> = []
        /// Events whose handler route no longer exists (re-normalization skipped).
        public var missingRoutes: Set<String> = []
        /// Re-normalized events whose place in their order's story changed
        /// (state or transition), counted; the first `OrderChange.listLimit` are listed.
        public var orderChangeCount = 0
        public var orderChanges: [OrderChange] = []
    }

    /// How re-placing a re-normalized event changed what its order says.
    public struct OrderChange: Sendable, Hashable {
        public static let listLimit = 100
        public var eventID: EventID
        public var before: OrderPlacement?
        public var after: OrderPlacement?

        /// One line: `evt_… order: succeeded (advanced) → refunded (stale), sequence 3 → 7`.
        public var summary: String {
            func text(_ p: OrderPlacement?) -> String { p.map { "\($0.state.rawValue) (\($0.transition.rawValue))" } ?? "none" }
            var line = "\(eventID) order: \(text(before)) -> \(text(after))"
            if let b = before, let a = after { line += ", sequence \(b.sequence) -> \(a.sequence)" }
            return line
        }
    }

    /// Why a replay could not run.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case unknownEndpoint(String)
        case renormalizeWithoutHandlers
        public var description: String {
            switch self {
            case .unknownEndpoint(let name): return "no endpoint named '\(name)' is configured"
            case .renormalizeWithoutHandlers: return "--renormalize needs the handler files"
            }
        }
    }

    public func run(_ selection: ReplaySelection, options: Options = Options(), progress report: @Sendable (Progress) -> Void = { _ in }) async throws -> Progress {
        if let endpoint = selection.endpoint, !endpoints.contains(where: { $0.name == endpoint }) { throw Failure.unknownEndpoint(endpoint) }
        if options.renormalize && handlers == nil { throw Failure.renormalizeWithoutHandlers }
        var progress = Progress(total: try await log.replayCandidateCount(selection))
        var cursor: EventID?
        while true {
            let batch = try await log.replayCandidates(selection, after: cursor, limit: options.batchSize)
            guard let last = batch.last else { break }
            var plans: [ReplayPlan] = []
            for candidate in batch {
                var event = candidate.event
                if options.renormalize, var revised = try await renormalized(event, progress: &progress) {
                    // The placement is the log's to compute; compare what the handler read.
                    revised.data.order = event.data.order
                    if revised != event {
                        if revised.type != event.type { progress.typeChanges += 1 }
                        if !options.dryRun, let outcome = try await log.revise(revised, now: clock()) {
                            revised = outcome.event
                            let before = outcome.previousOrder, after = outcome.event.data.order
                            if before?.state != after?.state || before?.transition != after?.transition {
                                progress.orderChangeCount += 1
                                if progress.orderChanges.count < OrderChange.listLimit {
                                    progress.orderChanges.append(OrderChange(eventID: event.id, before: before, after: after))
                                }
                            }
                        }
                        progress.renormalized += 1
                    }
                    event = revised
                }
                let plan = self.plan(for: event, deliveries: candidate.deliveries, selection: selection, progress: &progress)
                progress.events += 1
                progress.deliveries += plan.endpoints.count
                if !plan.endpoints.isEmpty { plans.append(plan) }
            }
            if !options.dryRun && !plans.isEmpty { try await log.scheduleReplay(plans, now: clock()) }
            report(progress)
            cursor = last.event.id
            if batch.count < options.batchSize { break }
        }
        return progress
    }

    func plan(for event: Event, deliveries: [DeliveryRecord], selection: ReplaySelection, progress: inout Progress) -> ReplayPlan {
        var targets: [String] = []
        var supersedes: [String: Int64] = [:]
        if let state = selection.state {
            for delivery in deliveries where state.includes(delivery) && (selection.endpoint.map { $0 == delivery.endpoint } ?? true) {
                targets.append(delivery.endpoint)
                supersedes[delivery.endpoint] = delivery.id
            }
        } else if let endpoint = selection.endpoint {
            targets = [endpoint]
        } else {
            // As at commit: an endpoint taking only forward events does not get a stale or repeated one
            // again unless it is named (`--endpoint`), so a bulk replay keeps what default endpoints see in order.
            targets = endpoints.filter { $0.accepts(event) && $0.orderEvents.admits(event.data.order) }.map(\.name)
        }
        let configured = Set(endpoints.map(\.name))
        for name in targets where !configured.contains(name) { progress.unknownEndpoints.insert(name) }
        let kept = Array(Set(targets.filter(configured.contains))).sorted()
        return ReplayPlan(eventID: event.id, endpoints: kept, supersedes: supersedes.filter { kept.contains($0.key) })
    }

    /// The event as today's handler reads its stored raw request, or nil when
    /// the route is gone. Verification is carried over, never re-checked.
    func renormalized(_ event: Event, progress: inout Progress) async throws -> Event? {
        guard let handlers, let route = handlers.route(provider: event.data.provider, name: event.data.route),
              let stored = try await log.event(id: event.id)
        else {
            progress.missingRoutes.insert("\(event.data.provider)/\(event.data.route)")
            return nil
        }
        let parameters = route.pattern.match(stored.raw.path) ?? [:]
        do {
            var revised = try Normalizer().renormalize(
                route: route, raw: stored.raw, pathParameters: parameters, eventID: event.id, verification: event.data.verification, now: event.timestamp
            ).event
            revised.data.verified = event.data.verified
            if event.data.channel == .statusCheck {
                // An answer is about the order that was asked about; ids the answer does not
                // carry (NonStoPay's names no order) came from the question, as at the call.
                if revised.data.orderID == nil { revised.data.orderID = event.data.orderID }
                if revised.data.transactionID == nil { revised.data.transactionID = event.data.transactionID }
            }
            return revised
        } catch {
            progress.missingRoutes.insert("\(event.data.provider)/\(event.data.route) (\(error.code))")
            return nil
        }
    }
}
