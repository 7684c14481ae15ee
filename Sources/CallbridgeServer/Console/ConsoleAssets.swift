/// The operator console's files, compiled into the binary by SwiftPM's
/// `.embedInCode` rule (`PackageResources`): plain HTML, CSS and JavaScript
/// modules, served as they are, with no build step and nothing read from disk.
///
/// Invariants: every asset path is `/console/<file>` with a fixed content
/// type; `/console` and `/console/` are the page itself. Nothing here holds a
/// secret: the page asks for the admin token and keeps it in the browser.
public enum ConsoleAssets {
    /// One served file.
    public struct Asset: Sendable {
        public let contentType: String
        public let bytes: [UInt8]
    }

    public static let prefix = "/console"

    /// The files by request path.
    public static let files: [String: Asset] = {
        let page = Asset(contentType: "text/html; charset=utf-8", bytes: PackageResources.index_html)
        let script = "text/javascript; charset=utf-8"
        return [
            prefix: page,
            prefix + "/": page,
            prefix + "/index.html": page,
            prefix + "/console.css": Asset(contentType: "text/css; charset=utf-8", bytes: PackageResources.console_css),
            prefix + "/app.js": Asset(contentType: script, bytes: PackageResources.app_js),
            prefix + "/api.js": Asset(contentType: script, bytes: PackageResources.api_js),
            prefix + "/dom.js": Asset(contentType: script, bytes: PackageResources.dom_js),
            prefix + "/events.js": Asset(contentType: script, bytes: PackageResources.events_js),
            prefix + "/detail.js": Asset(contentType: script, bytes: PackageResources.detail_js),
            prefix + "/endpoints.js": Asset(contentType: script, bytes: PackageResources.endpoints_js),
            prefix + "/overview.js": Asset(contentType: script, bytes: PackageResources.overview_js),
            prefix + "/favicon.svg": Asset(contentType: "image/svg+xml", bytes: PackageResources.favicon_svg),
        ]
    }()

    /// Whether `path` is the console's (`/console` or below it).
    public static func owns(_ path: String) -> Bool {
        path == prefix || path.hasPrefix(prefix + "/")
    }
}
