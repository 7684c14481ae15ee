import CallbridgeModel
import CallbridgeStore
import CallbridgeTransport
import Logging
import ServiceLifecycle
import Synchronization

/// Moves every logged delivery to its endpoint, at least once (docs/ARCHITECTURE.md,
/// "Delivery and leasing"): leases due deliveries in batches, sends each through the
/// transport with Standard Webhooks signatures, records the attempt and
/// resolves the delivery (succeeded, rescheduled or dead).
///
/// Isolation: each endpoint has its own in-flight limit (`max_in_flight`) and
/// circuit breaker, so a slow or failing endpoint never takes capacity from
/// the others. Threading: bookkeeping runs on this actor; network waits run
/// in child tasks off the actor; the transport owns its own I/O thread.
///
/// Shutdown (a `Service` in the server's `ServiceGroup`): on graceful shutdown
/// it stops leasing, lets in-flight attempts finish until `shutdownGrace`,
/// cancels the rest, and returns every lease it still holds to `pending`.
public actor Dispatcher: Service {
    /// Tuning that is not per endpoint.
    public struct Configuration: Sendable {
        /// Identifies this process's leases in the log.
        public var owner: String
        /// How often to look for work added by other processes (CLI replay, other nodes).
        public var pollInterval: Duration
        public var shutdownGrace: Duration
        public var breakerThreshold: Int
        public var breakerCooldown: ConfigDuration
        public var userAgent: String
        /// Bytes of each response body kept in the attempt record.
        public var responseSnippetBytes: Int
        /// How long a lease outlives the longest endpoint timeout: the time
        /// allowed to record an attempt. A crashed process's deliveries are
        /// due again after timeout + this margin.
        public var leaseMargin: ConfigDuration

        public init(owner: String, pollInterval: Duration = .seconds(1), shutdownGrace: Duration = .seconds(10), breakerThreshold: Int = 5,
                    breakerCooldown: ConfigDuration = .seconds(30), userAgent: String = "Callbridge/0.1.0", responseSnippetBytes: Int = 4096,
                    leaseMargin: ConfigDuration = .seconds(10)) {
            self.leaseMargin = leaseMargin
            self.owner = owner
            self.pollInterval = pollInterval
            self.shutdownGrace = shutdownGrace
            self.breakerThreshold = breakerThreshold
            self.breakerCooldown = breakerCooldown
            self.userAgent = userAgent
            self.responseSnippetBytes = responseSnippetBytes
        }
    }

    /// One configured endpoint with its signer and retry policy, built once.
    struct Target: Sendable {
        var config: EndpointConfig
        var signer: WebhookSigner
        var policy: RetryPolicy
    }

    let log: any EventLog
    let transport: any Transport
    let targets: [String: Target]
    let configuration: Configuration
    let logger: Logger
    let clock: @Sendable () -> Timestamp
    /// Attempt counters and latency, in the registry the caller passed.
    let metrics: DeliveryMetrics
    let doorbell = Doorbell()
    private let stopping = Mutex(false)
    /// In flight, breakers and disabled endpoints: what may be leased, and what the wait depends on.
    private var schedule: DispatchSchedule
    /// When the disabled endpoints were last read from the log (re-read at most
    /// once per `pollInterval`: operators change them from another process; a
    /// 410 here updates it at once).
    private var disabledReadAt: ContinuousClock.Instant?
    private let leaseDuration: ConfigDuration

    /// - Parameter metrics: where attempts are counted; the default registers in a private registry nobody reads.
    /// - Throws: `DispatcherError.invalidSecret` when an endpoint secret is not `whsec_` base64.
    public init(log: any EventLog, transport: any Transport, endpoints: [EndpointConfig], configuration: Configuration,
                logger: Logger, clock: @escaping @Sendable () -> Timestamp, metrics: DeliveryMetrics = DeliveryMetrics()) throws(DispatcherError) {
        var targets: [String: Target] = [:]
        for endpoint in endpoints {
            guard let signer = WebhookSigner(secrets: endpoint.secrets) else { throw .invalidSecret(endpoint: endpoint.name) }
            targets[endpoint.name] = Target(config: endpoint, signer: signer, policy: RetryPolicy(schedule: endpoint.retrySchedule))
        }
        self.log = log
        self.transport = transport
        self.targets = targets
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.metrics = metrics
        // A lease must outlive the attempt it covers, with room for recording it.
        let longest = endpoints.map(\.timeout.milliseconds).max() ?? 15_000
        self.leaseDuration = ConfigDuration(milliseconds: longest + configuration.leaseMargin.milliseconds)
        self.schedule = DispatchSchedule(
            endpoints: endpoints.map { ($0.name, $0.maxInFlight) },
            breaker: CircuitBreaker(failureThreshold: configuration.breakerThreshold, initialCooldown: configuration.breakerCooldown)
        )
    }

    /// Tells the dispatcher that deliveries were committed: it leases them at
    /// once instead of waiting for the next poll. Callable from anywhere.
    public nonisolated func wake() {
        doorbell.ring()
    }

    /// Breaker state per endpoint (`closed`, `open`, `half_open`).
    public func breakerStates() -> [String: String] {
        schedule.breakerLabels
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                while !isStopping && !Task.isCancelled {
                    let (leases, saturated) = await leaseBatch()
                    for lease in leases {
                        guard let target = targets[lease.endpoint] else { continue }
                        group.addTask { await self.attempt(lease, target: target) }
                    }
                    if saturated { continue }  // more may be due right now
                    await doorbell.wait(timeout: await waitTime())
                }
                await drainInFlight(group: &group)
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        // In a task of its own: when the group was cancelled (not shut down
        // gracefully) this task is cancelled too, and the log would refuse
        // the write; the leases must be returned either way.
        let (log, owner, now, logger) = (self.log, configuration.owner, clock(), self.logger)
        await Task {
            do {
                let released = try await log.releaseLeases(owner: owner, now: now)
                if released > 0 { logger.notice("released unfinished leases for redelivery", metadata: ["count": "\(released)"]) }
            } catch {
                logger.error("could not release leases; they become due when they expire", metadata: ["error": "\(error)"])
            }
        }.value
    }

    /// Stops leasing new work; in-flight attempts get `shutdownGrace` to finish.
    public nonisolated func beginShutdown() {
        stopping.withLock { $0 = true }
        doorbell.ring()
    }

    private nonisolated var isStopping: Bool { stopping.withLock { $0 } }

    /// Leases what the endpoints have room for (`DispatchSchedule.capacity`).
    /// `saturated` means every requested slot was filled, so more work may be waiting.
    private func leaseBatch() async -> ([LeasedDelivery], saturated: Bool) {
        let now = clock()
        if disabledReadAt.map({ ContinuousClock.now - $0 >= configuration.pollInterval }) ?? true {
            do {
                schedule.disabled = Set(try await log.disabledEndpoints().keys)
                disabledReadAt = ContinuousClock.now
            } catch {
                logger.error("cannot read endpoint states", metadata: ["error": "\(error)"])
                return ([], false)
            }
        }
        let capacity = schedule.capacity(now: now)
        guard !capacity.isEmpty else { return ([], false) }
        let leases: [LeasedDelivery]
        do {
            leases = try await log.leaseDue(owner: configuration.owner, now: now, leaseDuration: leaseDuration, capacity: capacity)
        } catch {
            logger.error("cannot lease deliveries", metadata: ["error": "\(error)"])
            return ([], false)
        }
        var counts: [String: Int] = [:]
        for lease in leases { counts[lease.endpoint, default: 0] += 1 }
        schedule.leased(counts)
        let saturated = !leases.isEmpty && counts.allSatisfy { capacity[$0.key] == $0.value } && counts.count == capacity.count
        return (leases, saturated)
    }

    /// Notes an endpoint disabled by this dispatcher (410) without waiting for the next read.
    private func markDisabled(_ name: String) {
        schedule.disabled.insert(name)
    }

    /// Until the next due delivery of an endpoint that is ready for it, or a
    /// breaker's reopening, at most `pollInterval`. Work due on a full endpoint
    /// waits for the doorbell its completions ring.
    private func waitTime() async -> Duration {
        let now = clock()
        let ready = schedule.ready(now: now)
        var next = ready.isEmpty ? nil : ((try? await log.nextDueAt(endpoints: ready)) ?? nil)
        if let reopens = schedule.nextBreakerReopen { next = min(next ?? reopens, reopens) }
        guard let next else { return configuration.pollInterval }
        let millis = max(0, next.millisecondsSinceEpoch - now.millisecondsSinceEpoch)
        return min(configuration.pollInterval, .milliseconds(millis))
    }

    private func finished(endpoint: String, result: AttemptResult?, now: Timestamp) {
        schedule.finished(endpoint, success: result.map(\.isSuccess), now: now)
        doorbell.ring()
    }

    /// Attempts whose HTTP exchange is over but whose completion is not yet committed.
    private var recording = 0

    /// The HTTP exchange is over: the endpoint's slot is free for the next
    /// attempt while this one's completion waits for its group commit (the
    /// delivery stays leased until then, so nothing can lease it twice).
    private func answered(endpoint: String, result: AttemptResult, now: Timestamp) {
        recording += 1
        finished(endpoint: endpoint, result: result, now: now)
    }

    private func recorded() {
        recording -= 1
        doorbell.ring()
    }

    /// Attempts in flight or still being recorded: shutdown waits for both.
    private var inFlightTotal: Int { schedule.inFlightTotal + recording }

    private func drainInFlight(group: inout DiscardingTaskGroup) async {
        let deadline = ContinuousClock.now + configuration.shutdownGrace
        while inFlightTotal > 0 && ContinuousClock.now < deadline {
            await doorbell.wait(timeout: min(.milliseconds(100), deadline - ContinuousClock.now))
        }
        if inFlightTotal > 0 {
            logger.notice("shutdown grace over; cancelling in-flight attempts", metadata: ["count": "\(inFlightTotal)"])
            group.cancelAll()
        }
    }

    /// One HTTP attempt of one delivery, off the actor except for bookkeeping.
    private nonisolated func attempt(_ lease: LeasedDelivery, target: Target) async {
        let endpoint = target.config
        let started = clock()
        var headers: [(String, String)] = [("content-type", "application/json"), ("user-agent", configuration.userAgent)]
        headers += endpoint.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        headers += target.signer.headers(id: lease.eventID, timestamp: started.secondsSinceEpoch, body: lease.envelope)
        let request = TransportRequest(
            url: endpoint.url, method: "POST", headers: headers, body: lease.envelope,
            timeout: .milliseconds(endpoint.timeout.milliseconds), connectTimeout: .milliseconds(min(endpoint.timeout.milliseconds, 10_000)),
            maxResponseBytes: configuration.responseSnippetBytes,
            clientCertificatePath: endpoint.clientCertificate, clientKeyPath: endpoint.clientKey, proxy: endpoint.proxy
        )
        let result: AttemptResult
        var snippet: [UInt8] = []
        do {
            let response = try await transport.send(request)
            let retryAfter = response.headers.first(where: { $0.0 == "retry-after" })?.1
            result = .response(status: response.status, retryAfter: retryAfter)
            snippet = Array(response.body.prefix(configuration.responseSnippetBytes))
        } catch {
            if Task.isCancelled {
                // Shutdown: the lease is released for redelivery; no attempt is charged.
                await finished(endpoint: endpoint.name, result: nil, now: clock())
                return
            }
            switch error {
            case .timeout: result = .timeout
            default: result = .transportError("\(error)")
            }
        }
        let now = clock()
        let number = lease.attemptCount + 1
        let decision = target.policy.decide(after: result, attemptNumber: number, now: now, random: Double.random(in: 0..<1))
        let record = AttemptRecord(
            number: number, startedAt: started, durationMilliseconds: now.millisecondsSinceEpoch - started.millisecondsSinceEpoch,
            statusCode: result.statusCode, error: result.errorDescription, responseSnippet: snippet
        )
        metrics.recordAttempt(endpoint: endpoint.name, result: result, durationMilliseconds: record.durationMilliseconds)
        await answered(endpoint: endpoint.name, result: result, now: now)
        do {
            let held = try await log.complete(lease, attempt: record, resolution: decision.resolution, now: now)
            if !held { logger.warning("lease was lost before the attempt was recorded", metadata: ["delivery": "\(lease.id)"]) }
            if decision.disableEndpoint {
                try await log.setEndpoint(endpoint.name, disabled: true, reason: "the endpoint answered 410 Gone", now: now)
                await markDisabled(endpoint.name)
                logger.warning("endpoint disabled after 410 Gone", metadata: ["endpoint": "\(endpoint.name)"])
            }
        } catch {
            logger.error("attempt could not be recorded; the delivery is retried when its lease expires",
                         metadata: ["delivery": "\(lease.id)", "error": "\(error)"])
        }
        var metadata: Logger.Metadata = [
            "event_id": "\(lease.eventID)", "endpoint": "\(endpoint.name)", "attempt": "\(number)",
            "duration_ms": "\(record.durationMilliseconds)",
        ]
        if let status = result.statusCode { metadata["status"] = "\(status)" }
        switch decision.resolution {
        case .succeeded: logger.debug("delivered", metadata: metadata)
        case .retry(let at):
            metadata["next_attempt_at"] = "\(at)"
            metadata["error"] = "\(result.errorDescription ?? "")"
            logger.info("delivery attempt failed; rescheduled", metadata: metadata)
        case .dead:
            metadata["error"] = "\(result.errorDescription ?? "")"
            logger.warning("delivery dead after its last scheduled attempt", metadata: metadata)
        }
        await recorded()
    }
}

/// Why a dispatcher could not be built.
public enum DispatcherError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidSecret(endpoint: String)

    public var description: String {
        switch self {
        case .invalidSecret(let endpoint): return "endpoint \(endpoint): the signing secret is not whsec_ followed by base64"
        }
    }
}
