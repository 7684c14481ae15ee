import HTTPTypes
import Hummingbird
import NIOCore

/// Serves the operator console under `/console` in front of the server's
/// responder, which gets every other request unchanged.
///
/// Invariants: every answer under `/console` (pages, assets, 404s, 405s)
/// carries `ConsoleResponder.securityHeaders`: a Content-Security-Policy
/// without inline script or style, no framing, no sniffing, no referrer.
/// With the console off (`admin.console: false`, or no admin token) every
/// `/console…` path is a 404. The console reads data through the admin API
/// only, like any other client.
public struct ConsoleResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == CallbridgeRequestContext {
    public typealias Context = CallbridgeRequestContext
    public let inner: Inner
    public let enabled: Bool

    public init(inner: Inner, enabled: Bool) {
        self.inner = inner
        self.enabled = enabled
    }

    /// The policy: scripts, styles and connections from this origin only;
    /// images from here or `data:`; no plugins, frames, base or foreign forms.
    public static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    }

    static var securityHeaders: HTTPFields {
        var fields = HTTPFields()
        fields[HTTPField.Name("Content-Security-Policy")!] = contentSecurityPolicy
        fields[HTTPField.Name("X-Frame-Options")!] = "DENY"
        fields[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        fields[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        fields[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        return fields
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        guard ConsoleAssets.owns(request.uri.path) else { return try await inner.respond(to: request, context: context) }
        guard enabled else {
            return Self.answer(status: .notFound, contentType: "application/json",
                               body: Array(#"{"error":"not_found","detail":"the console is off (admin.console: false, or no admin.token)"}"#.utf8))
        }
        guard request.method == .get || request.method == .head else {
            var response = Self.answer(status: .methodNotAllowed, contentType: "application/json",
                                       body: Array(#"{"error":"method_not_allowed","detail":"the console takes GET and HEAD"}"#.utf8))
            response.headers[.allow] = "GET, HEAD"
            return response
        }
        guard let asset = ConsoleAssets.files[request.uri.path] else {
            return Self.answer(status: .notFound, contentType: "application/json",
                               body: Array(#"{"error":"not_found","detail":"no such console file"}"#.utf8))
        }
        var response = Self.answer(status: .ok, contentType: asset.contentType, body: request.method == .head ? [] : asset.bytes)
        if request.method == .head { response.headers[.contentLength] = String(asset.bytes.count) }
        return response
    }

    static func answer(status: HTTPResponse.Status, contentType: String, body: [UInt8]) -> Response {
        var fields = securityHeaders
        fields[.contentType] = contentType
        fields[.cacheControl] = "no-cache"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
