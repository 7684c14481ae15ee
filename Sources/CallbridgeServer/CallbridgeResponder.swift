import CallbridgeModel
import Hummingbird

/// The server's single entry point: health probes, then provider routes.
/// Everything answers JSON; unknown paths get a JSON 404 from the ingest side.
public struct CallbridgeResponder: HTTPResponder {
    public typealias Context = CallbridgeRequestContext
    public let ingest: IngestService

    public init(ingest: IngestService) {
        self.ingest = ingest
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        switch request.uri.path {
        case "/healthz":
            return JSONResponse.make(status: 200, .object([("status", .string("ok"))]))
        case "/readyz":
            return JSONResponse.make(status: 200, .object([
                ("status", .string("ready")),
                ("routes", .number(String(ingest.handlers.routes.count))),
            ]))
        default:
            return await ingest.handle(request, context: context)
        }
    }
}
