import CallbridgeCrypto
import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import Foundation
import Hummingbird
import NIOCore

/// The operator's HTTP API under `/admin/v1` (bearer token, JSON, cursor
/// pagination): events with their raw request, revisions, deliveries and
/// attempts; replay; endpoints and their state; orders and their story. Documented by
/// `admin-openapi.yaml`, served at `/admin/v1/openapi.yaml`.
///
/// Invariants: every route is listed in `AdminAPI.routes`, which drives both
/// dispatch and the OpenAPI consistency test (paths, methods, query
/// parameters and body fields); every input is read strictly
/// (`AdminRequest.swift`): a wrong type, an empty value or an unknown name is
/// a 400 naming it, never read as absent; a wrong or missing token gets 401
/// with no detail; without `admin.token` the API answers 503.
public struct AdminAPI: Sendable {
    public let token: String?
    public let log: any EventLog
    public let endpoints: [EndpointConfig]
    public let handlers: HandlerSet
    public let clock: @Sendable () -> Timestamp
    /// Called after an operator made a status check due (wakes the worker).
    public let statusChecksRequested: @Sendable () -> Void
    /// This process's circuit breakers by endpoint (`closed`, `open`,
    /// `half_open`), when a dispatcher runs beside the API; nil: not known here.
    public let breakerStates: (@Sendable () async -> [String: String])?
    /// Called after a replay or an enable made deliveries due (wakes this process's dispatcher).
    public let deliveriesCommitted: @Sendable () -> Void

    public init(token: String?, log: any EventLog, endpoints: [EndpointConfig], handlers: HandlerSet, clock: @escaping @Sendable () -> Timestamp = SystemClock.now,
                statusChecksRequested: @escaping @Sendable () -> Void = {}, breakerStates: (@Sendable () async -> [String: String])? = nil,
                deliveriesCommitted: @escaping @Sendable () -> Void = {}) {
        self.statusChecksRequested = statusChecksRequested
        self.deliveriesCommitted = deliveriesCommitted
        self.breakerStates = breakerStates
        self.token = token
        self.log = log
        self.endpoints = endpoints
        self.handlers = handlers
        self.clock = clock
    }

    public static let prefix = "/admin/v1"

    /// One admin route: method, path (OpenAPI style `{name}` parameters), the
    /// query parameters it reads and the fields of the JSON object body it
    /// reads (nil: it reads no body). Anything else is refused with a 400, and
    /// the OpenAPI document lists exactly these (the consistency test checks).
    public struct Route: Sendable {
        public let method: String
        public let path: String
        public let query: [String]
        public let body: [String]?
        public let bodyRequired: Bool

        init(_ method: String, _ path: String, query: [String] = [], body: [String]? = nil, bodyRequired: Bool = false) {
            self.method = method
            self.path = path
            self.query = query
            self.body = body
            self.bodyRequired = bodyRequired
        }
    }

    static let selectionFields = ["event_ids", "since", "until", "provider", "type", "endpoint", "state"]

    /// Every admin route.
    public static let routes: [Route] = [
        Route("GET", "/admin/v1/events", query: ["provider", "type", "channel", "verified", "order_id", "since", "until", "limit", "cursor", "after"]),
        Route("GET", "/admin/v1/events/{id}"),
        Route("GET", "/admin/v1/events/{id}/deliveries"),
        Route("POST", "/admin/v1/events/{id}/replay", body: ["endpoint", "renormalize", "dry_run"]),
        Route("POST", "/admin/v1/replay", body: selectionFields + ["renormalize", "dry_run"], bodyRequired: true),
        Route("GET", "/admin/v1/endpoints"),
        Route("POST", "/admin/v1/endpoints/{name}/enable", body: []),
        Route("POST", "/admin/v1/endpoints/{name}/disable", body: ["reason"]),
        Route("GET", "/admin/v1/orders", query: ["provider", "state", "mismatch", "limit", "cursor"]),
        Route("POST", "/admin/v1/orders", body: ["provider", "order_id", "amount", "currency"], bodyRequired: true),
        Route("GET", "/admin/v1/orders/{provider}/{order_id}"),
        Route("POST", "/admin/v1/orders/{provider}/{order_id}/check", body: ["transaction_id"]),
        Route("GET", "/admin/v1/status-checks", query: ["limit"]),
        Route("GET", "/admin/v1/stats", query: ["window"]),
        Route("GET", "/admin/v1/openapi.yaml"),
    ]

    /// `routes` with their path patterns parsed once, for matching requests.
    static let matchers: [(route: Route, pattern: AdminPathPattern)] = routes.map { ($0, AdminPathPattern($0.path)) }

    /// The OpenAPI document, loaded once from the module's resources.
    public static let openAPIDocument: String? = {
        guard let url = Bundle.module.url(forResource: "admin-openapi", withExtension: "yaml") else { return nil }
        return try? String(contentsOf: url, encoding: .utf8)
    }()

    /// Every answer, errors and 401s included, with `Cache-Control: no-store`:
    /// admin answers hold operator data no cache should keep.
    public func handle(_ request: Request) async -> Response {
        var response = await answer(request)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    func answer(_ request: Request) async -> Response {
        guard let token else {
            return JSONResponse.error(status: 503, code: "admin_disabled", detail: "set admin.token in the config to enable the admin API")
        }
        let presented = request.headers[.authorization] ?? ""
        guard presented.hasPrefix("Bearer "), ConstantTime.equals(String(presented.dropFirst(7)), token) else {
            return JSONResponse.make(status: 401, .object([("error", .string("unauthorized"))]), headers: [.wwwAuthenticate: "Bearer"])
        }
        let path = request.uri.path
        var allowed: [String] = []
        for (route, pattern) in AdminAPI.matchers {
            guard let parameters = pattern.match(path) else { continue }
            guard route.method == request.method.rawValue else {
                allowed.append(route.method)
                continue
            }
            do {
                return try await dispatch(route, request: request, parameters: parameters)
            } catch let error as IngestError {
                return JSONResponse.error(error)
            } catch {
                return JSONResponse.error(status: 500, code: "internal_error", detail: "the request could not be completed: \(error)")
            }
        }
        if !allowed.isEmpty {
            return JSONResponse.error(.methodNotAllowed(request.method.rawValue, allowed: allowed), headers: [.allow: allowed.joined(separator: ", ")])
        }
        return JSONResponse.error(status: 404, code: "not_found", detail: "no admin route \(AdminText.printable(path))")
    }

    /// Reads every input of `route` (path, query, body: a 400 for the first
    /// that is wrong) before acting on any of them.
    func dispatch(_ route: Route, request: Request, parameters: AdminPathParameters) async throws -> Response {
        let query = try AdminQuery(request.uri.query, allowed: route.query)
        var body = AdminBody(members: [:])
        if let fields = route.body { body = try await AdminBody.read(request, fields: fields, required: route.bodyRequired) }
        switch route.path {
        case "/admin/v1/events": return try await listEvents(query)
        case "/admin/v1/events/{id}": return try await getEvent(try parameters.eventID("id"))
        case "/admin/v1/events/{id}/deliveries": return try await deliveries(try parameters.eventID("id"))
        case "/admin/v1/events/{id}/replay":
            let id = try parameters.eventID("id")
            var selection = ReplaySelection(eventIDs: [id])
            selection.endpoint = try body.string("endpoint")
            let renormalize = try body.bool("renormalize") ?? false
            let dryRun = try body.bool("dry_run") ?? false
            guard try await log.event(id: id) != nil else { throw notFound(id) }
            return try await replay(selection, renormalize: renormalize, dryRun: dryRun)
        case "/admin/v1/replay":
            let selection = try selection(from: body)
            return try await replay(selection, renormalize: try body.bool("renormalize") ?? false, dryRun: try body.bool("dry_run") ?? false)
        case "/admin/v1/endpoints": return try await listEndpoints()
        case "/admin/v1/endpoints/{name}/enable": return try await setEndpoint(try parameters.string("name"), disabled: false, reason: nil)
        case "/admin/v1/endpoints/{name}/disable":
            let name = try parameters.string("name")
            return try await setEndpoint(name, disabled: true, reason: try body.string("reason") ?? "disabled through the admin API")
        case "/admin/v1/orders":
            return route.method == "POST" ? try await registerOrder(body) : try await listOrders(query)
        case "/admin/v1/orders/{provider}/{order_id}":
            return try await getOrder(provider: try parameters.string("provider"), orderID: try parameters.string("order_id"))
        case "/admin/v1/orders/{provider}/{order_id}/check":
            return try await checkOrder(provider: try parameters.string("provider"), orderID: try parameters.string("order_id"), body)
        case "/admin/v1/status-checks": return try await statusChecks(query)
        case "/admin/v1/stats": return try await stats(query)
        case "/admin/v1/openapi.yaml":
            guard let document = AdminAPI.openAPIDocument else {
                return JSONResponse.error(status: 500, code: "internal_error", detail: "the OpenAPI document is missing from this build")
            }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: document)))
        default:
            return JSONResponse.error(status: 404, code: "not_found", detail: "no admin route \(route.path)")
        }
    }

    // MARK: - Handlers

    func listEvents(_ query: AdminQuery) async throws -> Response {
        var search = EventSearch(provider: query.string("provider"), orderID: query.string("order_id"))
        search.type = try query.oneOf("type", EventType.self)
        search.channel = try query.oneOf("channel", CallbridgeModel.Channel.self)
        search.verified = try query.boolean("verified")
        search.since = try query.time("since")
        search.until = try query.time("until")
        search.limit = try query.integer("limit", in: 1...500) ?? 50
        search.before = try query.eventID("cursor", what: "an event id from next_cursor")
        search.after = try query.eventID("after", what: "an event id (only newer events are listed)")
        let events = try await log.searchEvents(search)
        let next: JSONValue = events.count == search.limit ? (events.last.map { .string($0.id.rawValue) } ?? .null) : .null
        return JSONResponse.make(status: 200, .object([("data", .array(events.map(\.envelope))), ("next_cursor", next)]))
    }

    func getEvent(_ id: EventID) async throws -> Response {
        guard let stored = try await log.event(id: id) else { throw notFound(id) }
        let raw = stored.raw
        let bodyText = String(validating: raw.body, as: UTF8.self)
        let rawJSON: JSONValue = .object([
            ("method", .string(raw.method)), ("path", .string(raw.path)), ("query", .string(raw.query)),
            ("headers", .array(raw.headers.map { .array([.string($0.name), .string($0.value)]) })),
            ("body", bodyText.map(JSONValue.string) ?? .null),
            ("body_base64", bodyText == nil ? .string(ByteEncoding.base64(raw.body)) : .null),
            ("remote_address", raw.remoteAddress.map(JSONValue.string) ?? .null),
            ("received_at", .string(raw.receivedAt.rfc3339)),
        ])
        let revisions = try await log.revisions(of: id).map { revision -> JSONValue in
            .object([("revision", .number(String(revision.revision))), ("replaced_at", .string(revision.replacedAt.rfc3339)), ("event", revision.event.envelope)])
        }
        return JSONResponse.make(status: 200, .object([
            ("event", stored.event.envelope), ("dedup_key", stored.dedupKey.map(JSONValue.string) ?? .null),
            ("raw_request", rawJSON), ("revisions", .array(revisions)),
        ]))
    }

    func deliveries(_ id: EventID) async throws -> Response {
        guard try await log.event(id: id) != nil else { throw notFound(id) }
        var rows: [JSONValue] = []
        for delivery in try await log.deliveries(forEvent: id) {
            let attempts = try await log.attempts(forDelivery: delivery.id).map { attempt -> JSONValue in
                .object([
                    ("number", .number(String(attempt.number))), ("started_at", .string(attempt.startedAt.rfc3339)),
                    ("duration_ms", .number(String(attempt.durationMilliseconds))),
                    ("status_code", attempt.statusCode.map { .number(String($0)) } ?? .null),
                    ("error", attempt.error.map(JSONValue.string) ?? .null),
                    ("response_snippet", .string(String(decoding: attempt.responseSnippet, as: UTF8.self))),
                ])
            }
            rows.append(.object([
                ("id", .number(String(delivery.id))), ("endpoint", .string(delivery.endpoint)), ("state", .string(delivery.state.rawValue)),
                ("attempt_count", .number(String(delivery.attemptCount))),
                ("next_attempt_at", delivery.nextAttemptAt.map { .string($0.rfc3339) } ?? .null),
                ("last_status_code", delivery.lastStatusCode.map { .number(String($0)) } ?? .null),
                ("last_error", delivery.lastError.map(JSONValue.string) ?? .null),
                ("superseded_by", delivery.supersededBy.map { .number(String($0)) } ?? .null),
                ("attempts", .array(attempts)),
            ]))
        }
        return JSONResponse.make(status: 200, .object([("data", .array(rows))]))
    }

    func replay(_ selection: ReplaySelection, renormalize: Bool, dryRun: Bool) async throws -> Response {
        let service = ReplayService(log: log, endpoints: endpoints, handlers: handlers, clock: clock)
        do {
            let result = try await service.run(selection, options: .init(renormalize: renormalize, dryRun: dryRun))
            if !dryRun, result.deliveries > 0 { deliveriesCommitted() }
            return JSONResponse.make(status: dryRun ? 200 : 202, .object([
                ("dry_run", .bool(dryRun)), ("events", .number(String(result.events))), ("deliveries", .number(String(result.deliveries))),
                ("renormalized", .number(String(result.renormalized))),
                ("order_changes", .number(String(result.orderChangeCount))),
                ("skipped_endpoints", .array(result.unknownEndpoints.sorted().map(JSONValue.string))),
            ]))
        } catch let failure as ReplayService.Failure {
            switch failure {
            case .unknownEndpoint: throw IngestError(status: 404, code: "not_found", detail: failure.description)
            case .renormalizeWithoutHandlers: throw IngestError(status: 500, code: "internal_error", detail: failure.description)
            }
        }
    }

    /// The selection of `POST /admin/v1/replay`: at least one selector, each
    /// of its own type.
    func selection(from body: AdminBody) throws -> ReplaySelection {
        var selection = ReplaySelection()
        selection.eventIDs = try body.eventIDs("event_ids") ?? []
        selection.since = try body.time("since")
        selection.until = try body.time("until")
        selection.provider = try body.string("provider")
        selection.type = try body.oneOf("type", EventType.self)
        selection.endpoint = try body.string("endpoint")
        selection.state = try body.oneOf("state", ReplayState.self)
        guard AdminAPI.selectionFields.contains(where: { body.members[$0] != nil }) else {
            throw IngestError.invalidRequest("choose what to replay: \(AdminAPI.selectionFields.joined(separator: ", "))")
        }
        return selection
    }

    func listEndpoints() async throws -> Response {
        let now = clock()
        let stats = Dictionary(uniqueKeysWithValues: try await log.endpointStatistics(now: now).map { ($0.endpoint, $0) })
        let disabled = try await log.disabledEndpoints()
        let breakers = await breakerStates?()
        let rows = endpoints.map { endpoint -> JSONValue in
            let s = stats[endpoint.name] ?? EndpointStatistics(endpoint: endpoint.name)
            return .object([
                ("name", .string(endpoint.name)), ("url", .string(endpoint.url)),
                ("state", .string(disabled[endpoint.name] == nil ? "enabled" : "disabled")),
                ("disabled_reason", disabled[endpoint.name].map(JSONValue.string) ?? .null),
                ("backlog", .number(String(s.backlog))), ("in_flight", .number(String(s.inFlight))),
                ("succeeded", .number(String(s.succeeded))), ("dead", .number(String(s.dead))),
                ("oldest_due_at", s.oldestDueAt.map { .string($0.rfc3339) } ?? .null),
                ("last_status_code", s.lastStatusCode.map { .number(String($0)) } ?? .null),
                ("last_error", s.lastError.map(JSONValue.string) ?? .null),
                ("last_attempt_at", s.lastAttemptAt.map { .string($0.rfc3339) } ?? .null),
                ("breaker", breakers.map { .string($0[endpoint.name] ?? "closed") } ?? .null),
            ])
        }
        return JSONResponse.make(status: 200, .object([("data", .array(rows))]))
    }

    func setEndpoint(_ name: String, disabled: Bool, reason: String?) async throws -> Response {
        guard endpoints.contains(where: { $0.name == name }) else {
            throw IngestError(status: 404, code: "not_found", detail: "no endpoint named '\(AdminText.printable(name))' is configured")
        }
        try await log.setEndpoint(name, disabled: disabled, reason: reason, now: clock())
        if !disabled { deliveriesCommitted() }
        return JSONResponse.make(status: 200, .object([("name", .string(name)), ("state", .string(disabled ? "disabled" : "enabled"))]))
    }

    // MARK: - Helpers

    func notFound(_ id: EventID) -> IngestError {
        IngestError(status: 404, code: "not_found", detail: "no event \(id) in the log")
    }
}
