import CallbridgeHandlers
import CallbridgeModel
import Hummingbird
import NIOCore

/// Builds the JSON responses every route answers with, errors included
/// (`{"error": code, "detail": text}`), so no client ever gets an HTML page or
/// an empty 5xx.
enum JSONResponse {
    static func make(status: Int, _ body: JSONValue, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body.renderedBytes())))
    }

    static func error(_ error: IngestError, headers: HTTPFields = [:]) -> Response {
        make(status: error.status, .object([("error", .string(error.code)), ("detail", .string(error.detail))]), headers: headers)
    }

    static func error(status: Int, code: String, detail: String) -> Response {
        error(IngestError(status: status, code: code, detail: detail))
    }

    /// `303 See Other` to a configured landing page.
    static func seeOther(_ location: String) -> Response {
        var fields = HTTPFields()
        fields[.location] = location
        fields[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: fields)
    }
}
