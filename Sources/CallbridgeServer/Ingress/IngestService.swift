import CallbridgeDispatch
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeStore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The Hummingbird adapter of `IngestPipeline`: it looks the route up, reads
/// the body within the limit, hands the pipeline an `IngestRequest`, and
/// writes its `IngestOutcome` as the HTTP answer (200 JSON, 303, or the JSON
/// error). It counts every request in `callbridge_requests_total`.
///
/// Invariant: nothing here decides what is stored or acked; that is the
/// pipeline's (ack only after commit, docs/ARCHITECTURE.md "The data path").
public struct IngestService: Sendable {
    public let pipeline: IngestPipeline
    public let maxBodyBytes: Int

    public var handlers: HandlerSet { pipeline.handlers }
    public var log: any EventLog { pipeline.log }
    public var clock: @Sendable () -> Timestamp { pipeline.clock }
    public var metrics: IngestMetrics { pipeline.metrics }

    public init(handlers: HandlerSet, log: any EventLog, endpoints: [EndpointConfig], maxBodyBytes: Int,
                clock: @escaping @Sendable () -> Timestamp = SystemClock.now,
                deliveriesCommitted: @escaping @Sendable () -> Void = {}, statusChecks: StatusCheckSettings = StatusCheckSettings(),
                statusChecksCommitted: @escaping @Sendable () -> Void = {},
                metrics: IngestMetrics = IngestMetrics(), clientAddress: ClientAddress = ClientAddress(trustedProxies: [])) {
        self.pipeline = IngestPipeline(handlers: handlers, log: log, endpoints: endpoints, clock: clock, deliveriesCommitted: deliveriesCommitted,
                                       statusChecks: statusChecks, statusChecksCommitted: statusChecksCommitted, metrics: metrics,
                                       clientAddress: clientAddress)
        self.maxBodyBytes = maxBodyBytes
    }

    /// Answers one provider request and counts it in `callbridge_requests_total`.
    public func handle(_ request: Request, context: CallbridgeRequestContext) async -> Response {
        let path = request.uri.path
        let method = request.method.rawValue
        let route: Route
        let pathParameters: [String: String]
        switch pipeline.route(method: method, path: path) {
        case .failure(let refusal):
            metrics.recordRequest(provider: IngestMetrics.unmatched, route: IngestMetrics.unmatched, status: refusal.outcome.status)
            return Self.response(refusal.outcome)
        case .success(let match):
            (route, pathParameters) = match
        }
        var logger = Self.requestLogger(context.logger)
        logger[metadataKey: "route"] = "\(route.qualifiedName)"

        // Refuse oversized bodies before reading them when the length is declared,
        // and stop reading at the limit when it is not.
        let outcome: IngestOutcome
        do {
            let body = try await RequestBodyReader.collect(request, upTo: maxBodyBytes)
            let ingestRequest = IngestRequest(
                method: method, path: path, query: request.uri.query ?? "",
                headers: request.headers.map { HeaderField(name: $0.name.canonicalName, value: $0.value) },
                body: Array(buffer: body), peerAddress: context.remoteAddress?.ipAddress
            )
            outcome = await pipeline.ingest(ingestRequest, route: route, pathParameters: pathParameters, logger: logger)
        } catch {
            outcome = .refused(error)
        }
        metrics.recordRequest(provider: route.provider, route: route.name, status: outcome.status)
        return Self.response(outcome)
    }

    /// The HTTP answer for an outcome.
    static func response(_ outcome: IngestOutcome) -> Response {
        switch outcome {
        case .accepted(let id, let duplicate):
            return JSONResponse.make(status: 200, .object([
                ("status", .string(duplicate ? "duplicate" : "accepted")),
                ("event_id", .string(id.rawValue)),
            ]))
        case .landing(let location):
            return JSONResponse.seeOther(location)
        case .refused(let error, let allowed):
            var headers = HTTPFields()
            if !allowed.isEmpty { headers[.allow] = allowed.joined(separator: ", ") }
            return JSONResponse.error(error, headers: headers)
        case .unavailable:
            return JSONResponse.error(status: 503, code: "log_unavailable", detail: "the event could not be stored; retry later")
        }
    }

    /// The request's logger with Hummingbird's `hb.request.id` exposed as
    /// `request_id`, the key every ingest log line carries.
    static func requestLogger(_ base: Logger) -> Logger {
        var logger = base
        if let id = logger[metadataKey: "hb.request.id"] {
            logger[metadataKey: "request_id"] = id
            logger[metadataKey: "hb.request.id"] = nil
        }
        return logger
    }
}
