import CallbridgeHandlers
import CallbridgeModel
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// The server's single entry point: health probes and metrics, the admin
/// API under `/admin/v1`, then provider routes. Everything but `/metrics`
/// answers JSON; unknown paths get a JSON 404 from the ingest side.
///
/// - `GET /healthz`: 200 while the process serves requests.
/// - `GET /readyz`: 200 when the log accepts writes and handler routes are
///   loaded; otherwise 503 naming each problem.
/// - `GET /metrics`: Prometheus text exposition of `metrics`, with the queue
///   gauges refreshed from the log first.
public struct CallbridgeResponder: HTTPResponder {
    public typealias Context = CallbridgeRequestContext
    public let ingest: IngestService
    public let metrics: CallbridgeMetrics
    public let admin: AdminAPI?
    /// The request-target limits checked before any route (the rest are enforced per connection).
    public let limits: ConnectionLimits

    public init(ingest: IngestService, metrics: CallbridgeMetrics, admin: AdminAPI? = nil, limits: ConnectionLimits = ConnectionLimits()) {
        self.ingest = ingest
        self.metrics = metrics
        self.admin = admin
        self.limits = limits
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        if let refusal = CallbridgeResponder.checkTarget(request.uri, limits: limits) {
            metrics.ingest.recordRequest(provider: IngestMetrics.unmatched, route: IngestMetrics.unmatched, status: refusal.status)
            return JSONResponse.error(refusal)
        }
        switch request.uri.path {
        case "/healthz":
            return JSONResponse.make(status: 200, .object([("status", .string("ok"))]))
        case "/readyz":
            return await readiness()
        case "/metrics" where request.method == .get:
            return await scrape(logger: context.logger)
        case let path where path == AdminAPI.prefix || path.hasPrefix(AdminAPI.prefix + "/"):
            guard let admin else { return JSONResponse.error(status: 404, code: "not_found", detail: "the admin API is not mounted") }
            return await admin.handle(request)
        default:
            return await ingest.handle(request, context: context)
        }
    }

    /// 414 for a request target longer than `maxURIBytes`, 400 for more than
    /// `maxQueryParameters` query parameters; nil when the target is within both.
    static func checkTarget(_ uri: URI, limits: ConnectionLimits) -> IngestError? {
        let target = uri.string.utf8
        if target.count > limits.maxURIBytes {
            return IngestError(status: 414, code: "uri_too_long", detail: "the request target exceeds \(limits.maxURIBytes) bytes")
        }
        if let query = uri.query {
            var parameters = 0
            var previous = UInt8(ascii: "&")
            for byte in query.utf8 {
                if byte != UInt8(ascii: "&"), previous == UInt8(ascii: "&") { parameters += 1 }
                previous = byte
            }
            if parameters > limits.maxQueryParameters {
                return IngestError(status: 400, code: "too_many_parameters",
                                   detail: "the query holds \(parameters) parameters; at most \(limits.maxQueryParameters) are accepted")
            }
        }
        return nil
    }

    /// Ready means: a write transaction can be started on the log, and at
    /// least one handler route is loaded.
    func readiness() async -> Response {
        var problems: [JSONValue] = []
        if let failure = await ingest.log.writeProbeFailure() {
            problems.append(.object([("check", .string("log")), ("detail", .string(failure))]))
        }
        let routes = ingest.handlers.routes.count
        if routes == 0 {
            problems.append(.object([("check", .string("handlers")), ("detail", .string("no handler routes are loaded"))]))
        }
        guard problems.isEmpty else {
            return JSONResponse.make(status: 503, .object([("status", .string("not_ready")), ("problems", .array(problems))]))
        }
        return JSONResponse.make(status: 200, .object([
            ("status", .string("ready")),
            ("log", .string("writable")),
            ("routes", .number(String(routes))),
        ]))
    }

    func scrape(logger: Logger) async -> Response {
        let now = ingest.clock()
        do {
            metrics.refreshQueueGauges(try await ingest.log.endpointStatistics(now: now), now: now)
        } catch {
            // Counters are still worth serving; the queue gauges keep their last values.
            logger.error("cannot read delivery statistics for /metrics", metadata: ["error": "\(error)"])
        }
        do {
            metrics.statusChecks.refreshQueueGauges(try await ingest.log.statusCheckQueue(), providers: ingest.handlers.statusAPIs.keys.sorted(), now: now)
        } catch {
            logger.error("cannot read the status-check queue for /metrics", metadata: ["error": "\(error)"])
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
}
