import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import CallbridgeTransport
import Logging
import ServiceLifecycle
import Synchronization

/// Asks providers' status APIs about orders (README, "Status checks"): leases
/// due jobs from the log, calls the provider through the libcurl transport
/// and completes each job in one transaction with the event the answer
/// became. Every try is recorded; nothing is kept only in memory, so a
/// process killed mid-call leaves a lease that expires and is taken again.
///
/// Bounds: `StatusCheckAdmission` (global and per-provider calls in flight,
/// per-provider rate). Threading: bookkeeping on this actor, calls in child
/// tasks. Shutdown: stops leasing; calls still running get `shutdownGrace`,
/// then are cancelled and their leases expire.
public actor StatusCheckWorker: Service {
    let log: any EventLog
    let transport: any Transport
    let specs: [String: StatusAPISpec]
    let endpoints: [EndpointConfig]
    let settings: StatusCheckSettings
    let owner: String
    let logger: Logger
    let clock: @Sendable () -> Timestamp
    let metrics: StatusCheckMetrics
    let ingestMetrics: IngestMetrics
    let deliveriesCommitted: @Sendable () -> Void
    let shutdownGrace: Duration
    let doorbell = Doorbell()
    private let stopping = Mutex(false)
    private var admission: StatusCheckAdmission
    private let started = ContinuousClock.now
    private var rotation = 0

    public init(log: any EventLog, transport: any Transport, specs: [String: StatusAPISpec], endpoints: [EndpointConfig],
                settings: StatusCheckSettings, owner: String, logger: Logger, clock: @escaping @Sendable () -> Timestamp = SystemClock.now,
                metrics: StatusCheckMetrics, ingestMetrics: IngestMetrics, shutdownGrace: Duration = .seconds(10),
                deliveriesCommitted: @escaping @Sendable () -> Void = {}) {
        self.log = log
        self.transport = transport
        self.specs = specs
        self.endpoints = endpoints
        self.settings = settings
        self.owner = owner
        self.logger = logger
        self.clock = clock
        self.metrics = metrics
        self.ingestMetrics = ingestMetrics
        self.shutdownGrace = shutdownGrace
        self.deliveriesCommitted = deliveriesCommitted
        self.admission = StatusCheckAdmission(total: settings.maxInFlight, perProvider: settings.maxInFlightPerProvider,
                                              rate: settings.ratePerProvider)
    }

    /// A job became due (a return was committed, an operator asked): look now.
    public nonisolated func wake() {
        doorbell.ring()
    }

    public nonisolated func beginShutdown() {
        stopping.withLock { $0 = true }
        doorbell.ring()
    }

    private nonisolated var isStopping: Bool { stopping.withLock { $0 } }

    /// Milliseconds on a monotonic clock, for the rate bucket.
    private var monotonicNow: Int64 {
        let elapsed = ContinuousClock.now - started
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while !isStopping && !Task.isCancelled {
                    let (leases, saturated) = await leaseRound()
                    for (lease, spec) in leases {
                        group.addTask { await self.perform(lease, spec: spec) }
                    }
                    if saturated { continue }
                    await doorbell.wait(timeout: await waitTime())
                }
                let deadline = ContinuousClock.now + shutdownGrace
                while admission.inFlightTotal > 0 && ContinuousClock.now < deadline {
                    await doorbell.wait(timeout: min(.milliseconds(100), deadline - ContinuousClock.now))
                }
                if admission.inFlightTotal > 0 {
                    logger.notice("shutdown grace over; cancelling status checks in flight (their leases expire)",
                                  metadata: ["count": "\(admission.inFlightTotal)"])
                    group.cancelAll()
                }
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
    }

    /// Leases what the caps allow, provider by provider (rotating who goes
    /// first). `saturated`: some provider filled every slot it asked for.
    private func leaseRound() async -> ([(LeasedStatusCheck, StatusAPISpec)], saturated: Bool) {
        var out: [(LeasedStatusCheck, StatusAPISpec)] = []
        var saturated = false
        let providers = specs.keys.sorted()
        guard !providers.isEmpty else { return ([], false) }
        rotation = (rotation + 1) % providers.count
        for provider in providers[rotation...] + providers[..<rotation] {
            guard let spec = specs[provider] else { continue }
            let capacity = admission.capacity(provider, now: monotonicNow)
            guard capacity > 0 else { continue }
            let leases: [LeasedStatusCheck]
            do {
                leases = try await log.leaseStatusChecks(provider: provider, limit: capacity, owner: owner,
                                                         leaseFor: settings.lease.milliseconds, now: clock())
            } catch {
                logger.error("cannot lease status checks", metadata: ["provider": "\(provider)", "error": "\(error)"])
                continue
            }
            admission.started(provider, count: leases.count, now: monotonicNow)
            if !leases.isEmpty, leases.count == capacity { saturated = true }
            out += leases.map { ($0, spec) }
        }
        return (out, saturated)
    }

    /// Until the next job is due, a token comes back, or `pollInterval`;
    /// completions ring the doorbell, so a job due while every slot is busy
    /// never spins the loop.
    private func waitTime() async -> Duration {
        let poll = Duration.milliseconds(settings.pollInterval.milliseconds)
        let now = clock()
        guard let next = (try? await log.nextStatusCheckDue()) ?? nil else { return poll }
        if next > now { return min(poll, .milliseconds(next.millisecondsSinceEpoch - now.millisecondsSinceEpoch)) }
        let tokenWaits = specs.keys.compactMap { admission.waitForToken($0, now: monotonicNow) }
        guard let soonest = tokenWaits.min() else { return poll }
        return min(poll, .milliseconds(max(1, soonest)))
    }

    private func finished(_ provider: String) {
        admission.finished(provider)
        doorbell.ring()
    }

    // MARK: One try

    private nonisolated func perform(_ lease: LeasedStatusCheck, spec: StatusAPISpec) async {
        let policy = settings.policy(poll: spec.poll)
        let result = await ask(lease, spec: spec, policy: policy)
        let now = clock()
        var metadata: Logger.Metadata = ["provider": "\(lease.provider)", "order_id": "\(lease.orderID)", "reason": "\(lease.check.reason.rawValue)"]
        do {
            guard let completion = try await log.completeStatusCheck(lease, result: result, policy: policy, now: now) else {
                logger.warning("status check lease was lost before its try was recorded", metadata: metadata)
                await finished(lease.provider)
                return
            }
            report(completion, result: result, metadata: &metadata)
        } catch {
            metadata["error"] = "\(error)"
            logger.error("status check could not be recorded; it is asked again when its lease expires", metadata: metadata)
        }
        await finished(lease.provider)
    }

    /// Makes the call and reads the answer; never throws.
    private nonisolated func ask(_ lease: LeasedStatusCheck, spec: StatusAPISpec, policy: StatusCheckPolicy) async -> StatusCheckResult {
        let check = lease.check
        if lease.waitingHints == 0, check.reason == .poll {
            // Polling an order another event settled meanwhile: nothing to ask.
            if let order = try? await log.order(provider: check.provider, orderID: check.orderID), !order.paymentState.awaitsPayment {
                return .skipped
            }
        }
        let startedAt = clock()
        func attempt(status: Int?, error: String?) -> StatusCheckTry {
            StatusCheckTry(startedAt: startedAt, durationMilliseconds: max(0, clock().millisecondsSinceEpoch - startedAt.millisecondsSinceEpoch),
                           httpStatus: status, error: error, outcome: .answered, reason: check.reason)
        }
        guard let url = spec.url(orderID: check.orderID, transactionID: check.transactionID) else {
            return .failed(retryable: false, retryAfter: nil, attempt(status: nil, error: "the status URL needs a transaction id the order's events never carried"))
        }
        let timeout = settings.callTimeout(spec)
        let request = TransportRequest(
            url: url, method: "GET", headers: spec.headers.map { ($0.name, $0.value) } + [("accept", "application/json")],
            timeout: .milliseconds(timeout), connectTimeout: .milliseconds(min(timeout, 5_000)), maxResponseBytes: 1 << 20
        )
        let response: TransportResponse
        do {
            response = try await transport.send(request)
        } catch {
            return .failed(retryable: true, retryAfter: nil, attempt(status: nil, error: "\(error)"))
        }
        let now = clock()
        switch response.status {
        case 200..<300:
            let headers = response.headers.map { HeaderField(name: $0.0.lowercased(), value: $0.1) }
            let eventID = EventID.generate(millisecondsSinceEpoch: UInt64(max(0, now.millisecondsSinceEpoch)))
            switch spec.answer(url: url, headers: headers, body: response.body, orderID: check.orderID, transactionID: check.transactionID,
                               eventID: eventID, now: now) {
            case .success(let normalized):
                let event = normalized.event
                let record = IngestRecord(event: event, raw: normalized.raw, dedupKey: normalized.dedupKey,
                                          targets: endpoints.filter { $0.accepts(event) }.map(\.deliveryTarget))
                return .answered(record, attempt(status: response.status, error: nil))
            case .failure(let problem):
                return .failed(retryable: problem.retryable, retryAfter: nil,
                               attempt(status: response.status, error: problem.description + StatusCheckWorker.snippet(response.body)))
            }
        case 429, 408, 500...599:
            let retryAfter = response.headers.first { $0.0.lowercased() == "retry-after" }
                .flatMap { RetryPolicy.parseRetryAfter($0.1, now: now, limit: policy.maxRetryAfter) }
            return .failed(retryable: true, retryAfter: retryAfter,
                           attempt(status: response.status, error: "HTTP \(response.status)" + StatusCheckWorker.snippet(response.body)))
        default:
            return .failed(retryable: false, retryAfter: nil,
                           attempt(status: response.status, error: "HTTP \(response.status)" + StatusCheckWorker.snippet(response.body)))
        }
    }

    /// Up to 200 characters of an answer's body for the recorded error, card numbers masked.
    static func snippet(_ body: [UInt8]) -> String {
        guard !body.isEmpty else { return "" }
        let text = String(decoding: body.prefix(200), as: UTF8.self)
        return ": " + CardDataMasker().maskText(text) + (body.count > 200 ? "…" : "")
    }

    private nonisolated func report(_ completion: StatusCheckCompletion, result: StatusCheckResult, metadata: inout Logger.Metadata) {
        let provider = completion.check.provider
        metrics.recordTry(provider: provider, outcome: completion.outcome)
        for hint in completion.hints {
            guard let verdict = hint.verdict else { continue }
            metrics.recordVerdict(provider: provider, verdict: verdict)
            if case .differs(let differences) = verdict {
                logger.warning("the provider's answer does not match the return", metadata: metadata.merging([
                    "hint_event_id": "\(hint.eventID)", "answer_event_id": "\(completion.answerEventID.map { "\($0)" } ?? "")",
                    "differences": "\(differences.joined(separator: "; "))",
                ]) { $1 })
            }
        }
        if completion.deliveries > 0 { deliveriesCommitted() }
        metadata["outcome"] = "\(completion.outcome.rawValue)"
        if let next = completion.check.dueAt { metadata["next_check_at"] = "\(next)" }
        switch result {
        case .answered(let record, let attempt):
            metadata["answer_event_id"] = "\(completion.answerEventID.map { "\($0)" } ?? "")"
            metadata["type"] = "\(record.event.type.rawValue)"
            metadata["duration_ms"] = "\(attempt.durationMilliseconds)"
            if completion.stored {
                ingestMetrics.recordEvent(provider: provider, type: record.event.type.rawValue)
                var event = record.event
                event.data.order = completion.order
                ingestMetrics.report(completion.order, of: event, logger: logger)
            }
            logger.info(completion.stored ? "status check answered" : "status check answered as before", metadata: metadata)
        case .failed(_, _, let attempt):
            metadata["error"] = "\(attempt.error ?? "")"
            if let status = attempt.httpStatus { metadata["status"] = "\(status)" }
            if completion.outcome == .retry { logger.info("status check failed; retrying", metadata: metadata) }
            else { logger.warning("status check ended without an answer", metadata: metadata) }
        case .skipped:
            logger.debug("status check skipped: the order is settled", metadata: metadata)
        }
    }
}
