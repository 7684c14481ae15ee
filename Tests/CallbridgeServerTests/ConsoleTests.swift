import CallbridgeHandlers
import CallbridgeModel
import CallbridgeServer
import CallbridgeStore
import CallbridgeStoreSQLite
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The operator console (`/console`) and the admin routes it reads, over a
/// live listener and a real SQLite log: assets from the binary with their
/// security headers, the console switched off, `Cache-Control: no-store` on
/// admin answers, the event cursor and filters, stats and status checks.
@Suite struct ConsoleTests {
    static let token = "adm_console_token_5a4b3c"
    static let csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    let admin: HTTPFields = [.authorization: "Bearer \(ConsoleTests.token)"]

    func server(_ extra: String = "", admin adminYAML: String = "admin: {token: \"${CALLBRIDGE_ADMIN_TOKEN}\"}") throws -> TestServer {
        var env = testEnvironment
        env["CALLBRIDGE_ADMIN_TOKEN"] = ConsoleTests.token
        return try TestServer(configYAML: """
        \(adminYAML)
        endpoints:
          - {name: orders, url: "http://127.0.0.1:9/orders", secret: "${ORDERS_SECRET}"}
        \(extra)
        """, environment: env)
    }

    func json(_ response: TestResponse) throws -> JSONValue {
        try JSONParser().parse(Array(buffer: response.body))
    }

    func expectSecurityHeaders(_ response: TestResponse, _ label: String) {
        #expect(response.headers[HTTPField.Name("Content-Security-Policy")!] == ConsoleTests.csp, "\(label)")
        #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(label)")
        #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(label)")
        #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(label)")
    }

    // MARK: - Assets and headers

    @Test func everyAssetIsServedFromTheBinaryWithItsTypeAndTheSecurityHeaders() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            for path in ["/console", "/console/", "/console/index.html"] {
                let response = try await client.get(path)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8", "\(path)")
                #expect(String(buffer: response.body).contains(#"<script type="module" src="/console/app.js"></script>"#), "\(path)")
                expectSecurityHeaders(response, path)
            }
            for name in ["app", "api", "dom", "events", "detail", "endpoints", "overview"] {
                let response = try await client.get("/console/\(name).js")
                #expect(response.status == .ok, "\(name).js")
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8", "\(name).js")
                #expect(response.body.readableBytes > 500, "\(name).js")
                expectSecurityHeaders(response, name)
            }
            let css = try await client.get("/console/console.css")
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
            let icon = try await client.get("/console/favicon.svg")
            #expect(icon.status == .ok && icon.headers[.contentType] == "image/svg+xml")

            for path in ["/console/missing.js", "/console/../admin/v1/events", "/console/app.js/x"] {
                let response = try await client.get(path)
                #expect(response.status == .notFound, "\(path)")
                #expect(try json(response)["error"] == .string("not_found"), "\(path)")
                expectSecurityHeaders(response, path)
            }
            let post = try await client.post("/console", json: "{}")
            #expect(post.status == .methodNotAllowed)
            #expect(post.headers[.allow] == "GET, HEAD")
            expectSecurityHeaders(post, "POST")
            // Everything else still reaches the server's own routes.
            #expect(try await client.get("/healthz").status == .ok)
            #expect(try await client.get("/consoles").status == .notFound)
        }
    }

    /// What the browser enforces with the CSP, checked in the files as well:
    /// no inline script or style in the page, and no HTML parsing of data in
    /// the scripts (the e2e test shows hostile values rendering as text).
    @Test func thePageHasNoInlineScriptOrStyleAndTheScriptsNeverParseHTML() throws {
        let page = String(decoding: ConsoleAssets.files["/console"]?.bytes ?? [], as: UTF8.self)
        #expect(page.contains("<form id=\"signin-form\""))
        let scripts = page.components(separatedBy: "<script").dropFirst()
        #expect(scripts.count == 1)
        #expect(scripts.allSatisfy { $0.hasPrefix(#" type="module" src="/console/"#) })
        #expect(!page.contains("<style") && !page.contains("style=") && page.range(of: #"\son[a-z]+\s*="#, options: [.regularExpression, .caseInsensitive]) == nil)
        for (path, asset) in ConsoleAssets.files where path.hasSuffix(".js") {
            let text = String(decoding: asset.bytes, as: UTF8.self)
            for forbidden in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage"] {
                #expect(!text.contains(forbidden), "\(path) uses \(forbidden)")
            }
        }
        let api = String(decoding: ConsoleAssets.files["/console/api.js"]?.bytes ?? [], as: UTF8.self)
        #expect(api.contains("sessionStorage") && api.contains(#""Authorization": "Bearer ""#))
    }

    // MARK: - Switching it off

    @Test func theConsoleIsOffWithAdminConsoleFalseOrWithoutAnAdminToken() async throws {
        let off = try server(admin: "admin: {token: \"${CALLBRIDGE_ADMIN_TOKEN}\", console: false}")
        defer { off.directory.cleanUp() }
        #expect(!off.config.consoleEnabled)
        try await off.run { client, _ in
            for path in ["/console", "/console/", "/console/app.js"] {
                let response = try await client.get(path)
                #expect(response.status == .notFound, "\(path)")
                #expect(!String(buffer: response.body).contains("<html"), "\(path)")
            }
            // The admin API itself stays on.
            #expect(try await client.get("/admin/v1/endpoints", headers: admin).status == .ok)
        }
        let noToken = try server(admin: "")
        defer { noToken.directory.cleanUp() }
        #expect(!noToken.config.consoleEnabled)
        try await noToken.run { client, _ in
            let response = try await client.get("/console")
            #expect(response.status == .notFound)
        }
        #expect(try server().config.consoleEnabled)
        #expect(throws: ConfigError.self) { try self.server(admin: "admin: {token: \"${CALLBRIDGE_ADMIN_TOKEN}\", console: maybe}") }
    }

    // MARK: - Admin answers

    @Test func everyAdminAnswerIsNotCachedErrorsAndRefusalsIncluded() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            let answers = [
                try await client.get("/admin/v1/events", headers: admin),
                try await client.get("/admin/v1/events"),
                try await client.get("/admin/v1/events?limit=0", headers: admin),
                try await client.get("/admin/v1/nope", headers: admin),
                try await client.get("/admin/v1/openapi.yaml", headers: admin),
            ]
            #expect(answers.map(\.status.code) == [200, 401, 400, 404, 200])
            for answer in answers { #expect(answer.headers[.cacheControl] == "no-store") }
        }
    }

    @Test func eventsFilterByEveryColumnAndTheAfterCursorListsOnlyNewerOnes() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            var ids: [String] = []
            for (i, order) in ["ord_x", "ord_y", "ord_x"].enumerated() {
                let response = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_c_\(i)", orderID: order), headers: juspayAuth)
                #expect(response.status == .ok)
                ids.append(try json(response)["event_id"]?.stringValue ?? "")
            }
            func list(_ query: String) async throws -> [String] {
                let response = try await client.get("/admin/v1/events\(query)", headers: admin)
                #expect(response.status == .ok, "\(query): \(String(buffer: response.body))")
                guard case .array(let items)? = try json(response)["data"] else { return [] }
                return items.compactMap { $0["id"]?.stringValue }
            }
            #expect(try await list("") == ids.reversed())
            #expect(try await list("?after=\(ids[0])") == [ids[2], ids[1]])
            #expect(try await list("?after=\(ids[2])") == [])
            #expect(try await list("?order_id=ord_x") == [ids[2], ids[0]])
            #expect(try await list("?order_id=ord_x&after=\(ids[0])") == [ids[2]])
            #expect(try await list("?channel=callback&verified=true&provider=juspay") == ids.reversed())
            #expect(try await list("?verified=false") == [])
            #expect(try await list("?channel=redirect") == [])
            #expect(try await list("?since=2000-01-01T00:00:00Z&until=9999-12-31T23:59:59Z") == ids.reversed())
            #expect(try await list("?until=2000-01-01T00:00:00Z") == [])
            #expect(try await list("?limit=1&cursor=\(ids[2])") == [ids[1]])

            for (query, names) in [("?after=evt_nope", "after"), ("?verified=yes", "verified"), ("?channel=email", "channel"),
                                   ("?since=yesterday", "since"), ("?until=2026-11-23", "until"), ("?order_id=", "order_id")] {
                let response = try await client.get("/admin/v1/events\(query)", headers: admin)
                #expect(response.status == .badRequest, "\(query)")
                #expect(try json(response)["detail"]?.stringValue?.contains("'\(names)'") == true, "\(query)")
            }
        }
    }

    // MARK: - Stats

    @Test func statsCountEventsAndAttemptsPerMinuteOfTheWindow() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            for i in 0..<2 {
                #expect(try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_s_\(i)", orderID: "ord_s\(i)"), headers: juspayAuth).status == .ok)
            }
            let now = SystemClock.now()
            let leases = try await log.leaseDue(owner: "test", now: now, leaseDuration: .seconds(60), capacity: ["orders": 10])
            #expect(leases.count == 2)
            for (lease, (status, duration)) in zip(leases, [(200, Int64(40)), (500, Int64(100))]) {
                let attempt = AttemptRecord(number: 1, startedAt: now, durationMilliseconds: duration, statusCode: status, error: nil, responseSnippet: [])
                try await log.complete(lease, attempt: attempt, resolution: status == 200 ? .succeeded : .dead, now: now)
            }
            let response = try await client.get("/admin/v1/stats?window=1h", headers: admin)
            #expect(response.status == .ok)
            let body = try json(response)
            #expect(body["window"] == .string("1h") && body["bucket_seconds"] == .number("60"))
            guard case .array(let buckets)? = body["buckets"] else { Issue.record("no buckets"); return }
            #expect(buckets.count == 60)
            #expect(body["totals"]?["events"] == .number("2"))
            #expect(body["totals"]?["attempts"] == .number("2"))
            #expect(body["totals"]?["succeeded"] == .number("1"))
            #expect(body["totals"]?["average_duration_ms"] == .number("70"))
            #expect(body["totals"]?["max_duration_ms"] == .number("100"))
            // Everything happened just now: in the last (current) bucket.
            #expect(buckets.last?["events"] == .number("2"))
            #expect(buckets.last?["attempts"] == .number("2"))
            #expect(buckets.dropLast().allSatisfy { $0["events"] == .number("0") && $0["average_duration_ms"] == .null })

            let day = try json(try await client.get("/admin/v1/stats?window=24h", headers: admin))
            #expect(day["bucket_seconds"] == .number("900"))
            #expect(day["totals"]?["events"] == .number("2"))
            #expect(try json(try await client.get("/admin/v1/stats", headers: admin))["window"] == .string("1h"))
            for query in ["?window=2h", "?window=", "?window=1h&window=1h", "?range=1h"] {
                let refused = try await client.get("/admin/v1/stats\(query)", headers: admin)
                #expect(refused.status == .badRequest, "\(query)")
                #expect(try json(refused)["error"] != nil, "\(query)")
            }
        }
    }

    // MARK: - Status checks

    @Test func statusChecksShowTheQueueAndTheLatestTries() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let empty = try json(try await client.get("/admin/v1/status-checks", headers: admin))
            #expect(empty["recent"] == .array([]))
            let now = SystemClock.now()
            for order in ["ord_q1", "ord_q2"] {
                _ = try await log.requestStatusCheck(provider: "juspay", orderID: order, transactionID: nil, now: now)
            }
            let queued = try json(try await client.get("/admin/v1/status-checks", headers: admin))
            guard case .array(let queue)? = queued["queue"] else { Issue.record("no queue"); return }
            let juspay = queue.first { $0["provider"] == .string("juspay") }
            #expect(juspay?["waiting"] == .number("2") && juspay?["leased"] == .number("0"))
            #expect(juspay?["oldest_due_at"]?.stringValue != nil)

            let lease = try #require(try await log.leaseStatusChecks(provider: "juspay", limit: 1, owner: "w", leaseFor: 30_000, now: now).first)
            let attempt = StatusCheckTry(startedAt: now, durationMilliseconds: 21, httpStatus: 502, error: "bad gateway", outcome: .retry, reason: .manual)
            _ = try await log.completeStatusCheck(lease, result: .failed(retryable: true, retryAfter: nil, attempt), policy: StatusCheckPolicy(), now: now)
            let answered = try json(try await client.get("/admin/v1/status-checks?limit=5", headers: admin))
            guard case .array(let recent)? = answered["recent"] else { Issue.record("no recent tries"); return }
            #expect(recent.count == 1)
            #expect(recent.first?["provider"] == .string("juspay"))
            #expect(recent.first?["order_id"] == .string(lease.orderID))
            #expect(recent.first?["http_status"] == .number("502"))
            #expect(recent.first?["error"] == .string("bad gateway"))
            for query in ["?limit=0", "?limit=201", "?limit=-1", "?limit=ten", "?since=1h"] {
                #expect(try await client.get("/admin/v1/status-checks\(query)", headers: admin).status == .badRequest, "\(query)")
            }
        }
    }

    // MARK: - Endpoints

    func firstEndpoint(_ response: TestResponse) throws -> JSONValue? {
        guard case .array(let rows)? = try json(response)["data"] else { return nil }
        return rows.first
    }

    @Test func endpointsShowTheDispatchersBreakersWhenOneRunsBeside() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        let log = try SQLiteEventLog(path: server.databasePath)
        let without = CallbridgeApplication.make(config: server.config, handlers: server.handlers, log: log, logger: Logger(label: "test"))
        try await without.test(.live) { client in
            let first = try firstEndpoint(try await client.get("/admin/v1/endpoints", headers: admin))
            #expect(first?["breaker"] == .null)
            #expect(first?["last_attempt_at"] == .null)
        }
        let with = CallbridgeApplication.make(config: server.config, handlers: server.handlers, log: log, logger: Logger(label: "test"),
                                              breakerStates: { ["orders": "open"] })
        try await with.test(.live) { client in
            let response = try await client.get("/admin/v1/endpoints", headers: admin)
            #expect(try firstEndpoint(response)?["breaker"] == .string("open"))
        }
    }
}
