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
/// attempts; replay; endpoints and their state. Documented by
/// `admin-openapi.yaml`, served at `/admin/v1/openapi.yaml`.
///
/// Invariants: every route is listed in `AdminAPI.routes`, which drives both
/// dispatch and the OpenAPI consistency test; a wrong or missing token gets
/// 401 with no detail; without `admin.token` the API answers 503.
public struct AdminAPI: Sendable {
    public let token: String?
    public let log: any EventLog
    public let endpoints: [EndpointConfig]
    public let handlers: HandlerSet
    public let clock: @Sendable () -> Timestamp

    public init(token: String?, log: any EventLog, endpoints: [EndpointConfig], handlers: HandlerSet, clock: @escaping @Sendable () -> Timestamp = SystemClock.now) {
        self.token = token
        self.log = log
        self.endpoints = endpoints
        self.handlers = handlers
        self.clock = clock
    }

    public static let prefix = "/admin/v1"

    /// Every admin route: method and path (OpenAPI style `{name}` parameters).
    public static let routes: [(method: String, path: String)] = [
        ("GET", "/admin/v1/events"),
        ("GET", "/admin/v1/events/{id}"),
        ("GET", "/admin/v1/events/{id}/deliveries"),
        ("POST", "/admin/v1/events/{id}/replay"),
        ("POST", "/admin/v1/replay"),
        ("GET", "/admin/v1/endpoints"),
        ("POST", "/admin/v1/endpoints/{name}/enable"),
        ("POST", "/admin/v1/endpoints/{name}/disable"),
        ("GET", "/admin/v1/openapi.yaml"),
    ]

    /// `routes` with their path patterns parsed once, for matching requests.
    static let matchers: [(method: String, path: String, pattern: RoutePattern)] = routes.map { ($0.method, $0.path, RoutePattern($0.path)) }

    /// The OpenAPI document, loaded once from the module's resources.
    public static let openAPIDocument: String? = {
        guard let url = Bundle.module.url(forResource: "admin-openapi", withExtension: "yaml") else { return nil }
        return try? String(contentsOf: url, encoding: .utf8)
    }()

    public func handle(_ request: Request) async -> Response {
        guard let token else {
            return JSONResponse.error(status: 503, code: "admin_disabled", detail: "set admin.token in the config to enable the admin API")
        }
        let presented = request.headers[.authorization] ?? ""
        guard presented.hasPrefix("Bearer "), ConstantTime.equals(String(presented.dropFirst(7)), token) else {
            return JSONResponse.make(status: 401, .object([("error", .string("unauthorized"))]), headers: [.wwwAuthenticate: "Bearer"])
        }
        let path = request.uri.path
        var allowed: [String] = []
        for route in AdminAPI.matchers {
            guard let parameters = route.pattern.match(path) else { continue }
            guard route.method == request.method.rawValue else {
                allowed.append(route.method)
                continue
            }
            do {
                return try await dispatch(route.path, request: request, parameters: parameters)
            } catch let error as IngestError {
                return JSONResponse.error(error)
            } catch {
                return JSONResponse.error(status: 500, code: "internal_error", detail: "the request could not be completed: \(error)")
            }
        }
        if !allowed.isEmpty {
            return JSONResponse.error(.methodNotAllowed(request.method.rawValue, allowed: allowed), headers: [.allow: allowed.joined(separator: ", ")])
        }
        return JSONResponse.error(status: 404, code: "not_found", detail: "no admin route \(path)")
    }

    func dispatch(_ route: String, request: Request, parameters: [String: String]) async throws -> Response {
        let query = Dictionary(FormURLEncoding.parse(request.uri.query ?? "") ?? [], uniquingKeysWith: { first, _ in first })
        switch route {
        case "/admin/v1/events": return try await listEvents(query)
        case "/admin/v1/events/{id}": return try await getEvent(try eventID(parameters))
        case "/admin/v1/events/{id}/deliveries": return try await deliveries(try eventID(parameters))
        case "/admin/v1/events/{id}/replay":
            let body = try await jsonBody(request)
            var selection = ReplaySelection(eventIDs: [try eventID(parameters)])
            selection.endpoint = body["endpoint"]?.stringValue
            return try await replay(selection, renormalize: body["renormalize"] == .bool(true), dryRun: body["dry_run"] == .bool(true))
        case "/admin/v1/replay":
            let body = try await jsonBody(request)
            return try await replay(try selection(from: body), renormalize: body["renormalize"] == .bool(true), dryRun: body["dry_run"] == .bool(true))
        case "/admin/v1/endpoints": return try await listEndpoints()
        case "/admin/v1/endpoints/{name}/enable": return try await setEndpoint(parameters["name"] ?? "", disabled: false, reason: nil)
        case "/admin/v1/endpoints/{name}/disable":
            let body = try await jsonBody(request)
            return try await setEndpoint(parameters["name"] ?? "", disabled: true, reason: body["reason"]?.stringValue ?? "disabled through the admin API")
        case "/admin/v1/openapi.yaml":
            guard let document = AdminAPI.openAPIDocument else {
                return JSONResponse.error(status: 500, code: "internal_error", detail: "the OpenAPI document is missing from this build")
            }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: document)))
        default:
            return JSONResponse.error(status: 404, code: "not_found", detail: "no admin route \(route)")
        }
    }

    // MARK: - Handlers

    func listEvents(_ query: [String: String]) async throws -> Response {
        var filter = EventQuery(provider: query["provider"], limit: 50)
        if let type = query["type"] {
            guard let parsed = EventType(rawValue: type) else { throw badRequest("type '\(type)' is not an event type") }
            filter.type = parsed
        }
        if let limit = query["limit"] {
            guard let n = Int(limit), (1...500).contains(n) else { throw badRequest("limit must be between 1 and 500") }
            filter.limit = n
        }
        if let cursor = query["cursor"] {
            guard let id = EventID(cursor) else { throw badRequest("cursor must be an event id from next_cursor") }
            filter.before = id
        }
        let events = try await log.events(matching: filter)
        let next: JSONValue = events.count == filter.limit ? (events.last.map { .string($0.id.rawValue) } ?? .null) : .null
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
            return JSONResponse.make(status: dryRun ? 200 : 202, .object([
                ("dry_run", .bool(dryRun)), ("events", .number(String(result.events))), ("deliveries", .number(String(result.deliveries))),
                ("renormalized", .number(String(result.renormalized))),
                ("skipped_endpoints", .array(result.unknownEndpoints.sorted().map(JSONValue.string))),
            ]))
        } catch let failure as ReplayService.Failure {
            throw badRequest(failure.description)
        }
    }

    func selection(from body: JSONValue) throws -> ReplaySelection {
        var selection = ReplaySelection()
        if case .array(let ids)? = body["event_ids"] {
            for id in ids {
                guard let text = id.stringValue, let parsed = EventID(text) else { throw badRequest("event_ids must be event ids") }
                selection.eventIDs.append(parsed)
            }
        }
        for (key, keyPath) in [("since", \ReplaySelection.since), ("until", \ReplaySelection.until)] {
            if let text = body[key]?.stringValue {
                guard let time = Timestamp(rfc3339: text) else { throw badRequest("\(key) must be RFC 3339") }
                selection[keyPath: keyPath] = time
            }
        }
        selection.provider = body["provider"]?.stringValue
        selection.endpoint = body["endpoint"]?.stringValue
        if let type = body["type"]?.stringValue {
            guard let parsed = EventType(rawValue: type) else { throw badRequest("type '\(type)' is not an event type") }
            selection.type = parsed
        }
        if let state = body["state"]?.stringValue {
            guard let parsed = ReplayState(rawValue: state) else { throw badRequest("state must be dead, failed or succeeded") }
            selection.state = parsed
        }
        if selection == ReplaySelection() {
            throw badRequest("choose what to replay: event_ids, since, until, provider, type, endpoint or state")
        }
        return selection
    }

    func listEndpoints() async throws -> Response {
        let now = clock()
        let stats = Dictionary(uniqueKeysWithValues: try await log.endpointStatistics(now: now).map { ($0.endpoint, $0) })
        let disabled = try await log.disabledEndpoints()
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
            ])
        }
        return JSONResponse.make(status: 200, .object([("data", .array(rows))]))
    }

    func setEndpoint(_ name: String, disabled: Bool, reason: String?) async throws -> Response {
        guard endpoints.contains(where: { $0.name == name }) else {
            throw IngestError(status: 404, code: "not_found", detail: "no endpoint named '\(name)' is configured")
        }
        try await log.setEndpoint(name, disabled: disabled, reason: reason, now: clock())
        return JSONResponse.make(status: 200, .object([("name", .string(name)), ("state", .string(disabled ? "disabled" : "enabled"))]))
    }

    // MARK: - Helpers

    func eventID(_ parameters: [String: String]) throws -> EventID {
        guard let text = parameters["id"], let id = EventID(text) else { throw badRequest("the path must name an event id (evt_…)") }
        return id
    }

    func jsonBody(_ request: Request) async throws -> JSONValue {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        guard buffer.readableBytes > 0 else { return .object([]) }
        do {
            let value = try JSONParser().parse(Array(buffer: buffer))
            guard case .object = value else { throw badRequest("the body must be a JSON object") }
            return value
        } catch let error as JSONParser.Failure {
            throw IngestError.malformedBody("the body is not valid JSON: \(error)")
        }
    }

    func badRequest(_ detail: String) -> IngestError {
        IngestError(status: 400, code: "invalid_request", detail: detail)
    }

    func notFound(_ id: EventID) -> IngestError {
        IngestError(status: 404, code: "not_found", detail: "no event \(id) in the log")
    }
}
