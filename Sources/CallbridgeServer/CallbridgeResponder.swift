import CallbridgeModel
import Hummingbird

/// The server's single entry point: health probes, the admin API under
/// `/admin/v1`, then provider routes.
/// Everything answers JSON; unknown paths get a JSON 404 from the ingest side.
public struct CallbridgeResponder: HTTPResponder {
    public typealias Context = CallbridgeRequestContext
    public let ingest: IngestService
    public let admin: AdminAPI?

    public init(ingest: IngestService, admin: AdminAPI? = nil) {
        self.ingest = ingest
        self.admin = admin
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
        case let path where path == AdminAPI.prefix || path.hasPrefix(AdminAPI.prefix + "/"):
            guard let admin else { return JSONResponse.error(status: 404, code: "not_found", detail: "the admin API is not mounted") }
            return await admin.handle(request)
        default:
            return await ingest.handle(request, context: context)
        }
    }
}
