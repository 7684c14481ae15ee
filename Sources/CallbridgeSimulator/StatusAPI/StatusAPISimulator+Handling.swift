import CallbridgeModel
import Hummingbird
import Synchronization

/// How one request is handled: counted and planned under the lock when it
/// arrives, then answered after its wait.
extension StatusAPISimulator {
    /// One order's script and the index of the reply the next call gets.
    struct Script {
        var replies: [Reply]
        var next = 0
    }

    /// Everything mutable, behind one lock.
    struct State {
        var scripts: [String: Script] = [:]
        var defaultAnswer: OrderAnswer?
        var delay: Duration = .zero
        var pendingFor = 0
        var stats = Stats(totalCalls: 0, callsByOrder: [:], maxConcurrent: 0, inFlight: 0, rawTargets: [], unauthorized: 0)

        init(defaultAnswer: OrderAnswer?) {
            self.defaultAnswer = defaultAnswer
        }
    }

    /// The answer chosen for one request, rendered once its wait is over.
    enum Outcome: Sendable, Equatable {
        case answer(order: String, OrderAnswer)
        case error(status: Int, retryAfter: String? = nil, message: String? = nil)
    }

    /// What to do with one request: wait this long, then answer.
    struct Plan: Sendable {
        var wait: Duration
        var outcome: Outcome
    }

    /// The longest a single delay or stall holds a request (longer ones are
    /// shortened, so deadline arithmetic cannot overflow).
    static let longestWait = Duration.seconds(86_400)

    /// Answers one request (the server's only responder).
    func respond(to request: Request, stopping: StopSignal) async -> Response {
        // The target exactly as it came on the wire (`request.uri` is the same text, parsed).
        let target = request.head.path ?? ""
        let headers = request.headers.map { ($0.name.canonicalName, $0.value) }
        let provider = provider
        let credentials = credentials
        let plan = state.withLock { state in
            state.plan(provider: provider, credentials: credentials, method: request.method.rawValue, target: target, headers: headers)
        }
        await Self.wait(plan.wait, stopping: stopping)
        let response = response(for: plan.outcome)
        state.withLock { $0.stats.inFlight -= 1 }
        return response
    }

    /// Holds for `duration`, in short steps so a stopping server answers at once.
    static func wait(_ duration: Duration, stopping: StopSignal) async {
        guard duration > .zero else { return }
        let deadline = ContinuousClock.now + min(duration, longestWait)
        while !stopping.isSet && !Task.isCancelled {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return }
            try? await Task.sleep(for: min(remaining, .milliseconds(20)))
        }
    }

    /// The HTTP response for `outcome`: JSON in the provider's shape.
    func response(for outcome: Outcome) -> Response {
        switch outcome {
        case .answer(let order, let answer):
            let body = StatusAPIBody.answer(
                provider: provider, orderID: order, answer: answer, merchantID: credentials?.merchantID, now: SystemClock.now()
            )
            return Self.jsonResponse(status: 200, body: body)
        case .error(let status, let retryAfter, let message):
            let code = (200...599).contains(status) ? status : 500
            var extra: [(HTTPFieldKind, String)] = []
            if let retryAfter {
                let clean = String(decoding: retryAfter.utf8.filter { $0 >= 0x20 && $0 < 0x7F }, as: UTF8.self).trimmingSpaces()
                if !clean.isEmpty { extra.append((.retryAfter, clean)) }
            }
            if code == 405 { extra.append((.allow, "GET")) }
            return Self.jsonResponse(status: code, body: StatusAPIBody.error(provider: provider, status: code, message: message), extra: extra)
        }
    }

    /// The response headers this server sets besides `Content-Type`.
    enum HTTPFieldKind {
        case retryAfter
        case allow
    }

    /// `status` with `body` as `application/json` (no body for 204 and 304, which cannot carry one).
    static func jsonResponse(status: Int, body: JSONValue, extra: [(HTTPFieldKind, String)] = []) -> Response {
        var fields = HTTPFields()
        for (kind, value) in extra {
            switch kind {
            case .retryAfter: fields[.retryAfter] = value
            case .allow: fields[.allow] = value
            }
        }
        if status == 204 || status == 304 {
            return Response(status: .init(code: status), headers: fields)
        }
        fields[.contentType] = "application/json"
        let bytes = body.renderedBytes()
        return Response(status: .init(code: status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension StatusAPISimulator.State {
    /// Counts one arriving request and decides its answer (consuming its script).
    mutating func plan(
        provider: SimulatedProvider, credentials: StatusAPISimulator.Credentials?, method: String, target: String, headers: [(String, String)]
    ) -> StatusAPISimulator.Plan {
        stats.totalCalls += 1
        stats.rawTargets.append(target)
        let overflow = stats.rawTargets.count - StatusAPISimulator.rawTargetLimit
        if overflow > StatusAPISimulator.rawTargetLimit / 10 { stats.rawTargets.removeFirst(overflow) }
        stats.inFlight += 1
        stats.maxConcurrent = max(stats.maxConcurrent, stats.inFlight)
        let delay = min(self.delay, StatusAPISimulator.longestWait)

        let route = StatusAPIRoute.route(provider: provider, method: method, target: target)
        if route == .notFound {
            return .init(wait: delay, outcome: .error(status: 404, message: "no such endpoint; this server answers \(provider.statusAPIRequest)"))
        }
        guard StatusAPIRoute.isAuthorized(provider: provider, credentials: credentials, headers: headers) else {
            stats.unauthorized += 1
            return .init(wait: delay, outcome: .error(status: 401, message: "invalid or missing credentials"))
        }
        let order: String
        switch route {
        case .notFound:
            return .init(wait: delay, outcome: .error(status: 404))
        case .methodNotAllowed:
            return .init(wait: delay, outcome: .error(status: 405, message: "only GET is allowed"))
        case .badRequest(let message):
            return .init(wait: delay, outcome: .error(status: 400, message: message))
        case .order(let id):
            order = id
        }

        stats.callsByOrder[order, default: 0] += 1
        let earlierCalls = (stats.callsByOrder[order] ?? 1) - 1
        if var script = scripts[order], !script.replies.isEmpty {
            var wait = delay
            while true {
                let index = min(script.next, script.replies.count - 1)
                let isLast = index == script.replies.count - 1
                script.next = isLast ? index : index + 1
                switch script.replies[index] {
                case .answer(let answer):
                    scripts[order] = script
                    return .init(wait: wait, outcome: .answer(order: order, answer))
                case .error(let status, let retryAfter):
                    scripts[order] = script
                    return .init(wait: wait, outcome: .error(status: status, retryAfter: retryAfter))
                case .stall(let duration):
                    wait = min(wait + min(max(duration, .zero), StatusAPISimulator.longestWait), StatusAPISimulator.longestWait)
                    if isLast {
                        scripts[order] = script
                        return .init(wait: wait, outcome: defaultOutcome(order: order))
                    }
                }
            }
        }
        if earlierCalls < pendingFor {
            let pending = StatusAPISimulator.OrderAnswer(
                status: provider.pendingWord, amount: defaultAnswer?.amount ?? "100.00", currency: defaultAnswer?.currency
            )
            return .init(wait: delay, outcome: .answer(order: order, pending))
        }
        return .init(wait: delay, outcome: defaultOutcome(order: order))
    }

    /// The default answer for `order`, or a 404 when there is none.
    func defaultOutcome(order: String) -> StatusAPISimulator.Outcome {
        if let defaultAnswer { return .answer(order: order, defaultAnswer) }
        return .error(status: 404, message: "order not found")
    }
}
