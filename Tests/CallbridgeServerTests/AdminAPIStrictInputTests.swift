import CallbridgeModel
@testable import CallbridgeServer
import CallbridgeStore
import CallbridgeStoreSQLite
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The admin API reads every input strictly: a wrong type, an empty value or
/// an unknown name is a 400 naming it, and is never read as absent (a replay
/// that took `"dry_run":"yes"` as "not a dry run" sent 30 events for real).
@Suite struct AdminAPIStrictInputTests {
    static let token = "adm_strict_token_4c3b2a"
    let admin: HTTPFields = [.authorization: "Bearer \(AdminAPIStrictInputTests.token)"]

    func server() throws -> TestServer {
        var environment = testEnvironment
        environment["CALLBRIDGE_ADMIN_TOKEN"] = AdminAPIStrictInputTests.token
        return try TestServer(configYAML: """
        admin: {token: "${CALLBRIDGE_ADMIN_TOKEN}"}
        endpoints:
          - {name: orders, url: "http://127.0.0.1:9/orders", secret: "${ORDERS_SECRET}"}
          - {name: audit, url: "http://127.0.0.1:9/audit", secret: "${AUDIT_SECRET}"}
        """, environment: environment)
    }

    /// What a replay or an endpoint switch would change: every event's
    /// deliveries and revisions, and the disabled endpoints.
    struct LogState: Equatable, CustomStringConvertible {
        var deliveries: [String: Int] = [:]
        var revisions: [String: Int] = [:]
        var disabled: [String: String] = [:]
        var description: String { "deliveries \(deliveries.values.reduce(0, +)), revisions \(revisions.values.reduce(0, +)), disabled \(disabled)" }
    }

    func state(of log: SQLiteEventLog) async throws -> LogState {
        var state = LogState()
        for event in try await log.events(matching: EventQuery(limit: 500)) {
            state.deliveries[event.id.rawValue] = try await log.deliveries(forEvent: event.id).count
            state.revisions[event.id.rawValue] = try await log.revisions(of: event.id).count
        }
        state.disabled = try await log.disabledEndpoints()
        return state
    }

    /// Three Juspay events, each with a delivery to both endpoints.
    func seed(_ client: some TestClientProtocol) async throws -> [EventID] {
        var ids: [EventID] = []
        for i in 0..<3 {
            let response = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_strict_\(i)", orderID: "ord_s\(i)"), headers: juspayAuth)
            ids.append(try #require(try eventID(in: response)))
        }
        return ids
    }

    func error(_ response: TestResponse) throws -> (code: String, detail: String) {
        #expect(response.headers[.contentType] == "application/json")
        let body = try JSONParser().parse(Array(buffer: response.body))
        // Exactly {"error": code, "detail": text}, as the document's Error schema says.
        #expect(body.objectMembers?.map(\.0) == ["error", "detail"], "error body \(body.rendered())")
        return (body["error"]?.stringValue ?? "", body["detail"]?.stringValue ?? "")
    }

    func post(_ client: some TestClientProtocol, _ uri: String, _ json: String) async throws -> TestResponse {
        try await client.post(uri, json: json, headers: admin)
    }

    @Test func aWrongTypedFieldIs400NamingItAndReplaysNothing() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let ids = try await seed(client)
            let before = try await state(of: log)
            #expect(before.deliveries.values.reduce(0, +) == 6)
            let cases: [(uri: String, body: String, field: String)] = [
                ("/admin/v1/replay", #"{"provider":"juspay","dry_run":"yes"}"#, "dry_run"),
                ("/admin/v1/replay", #"{"provider":"juspay","dry_run":1}"#, "dry_run"),
                ("/admin/v1/replay", #"{"provider":"juspay","dry_run":null}"#, "dry_run"),
                ("/admin/v1/replay", #"{"provider":"juspay","endpoint":{}}"#, "endpoint"),
                ("/admin/v1/replay", #"{"provider":"juspay","until":[]}"#, "until"),
                ("/admin/v1/replay", #"{"provider":"juspay","since":"yesterday"}"#, "since"),
                ("/admin/v1/replay", #"{"provider":"juspay","since":"2026-11-23 10:00:00"}"#, "since"),
                ("/admin/v1/replay", #"{"provider":"juspay","renormalize":"true"}"#, "renormalize"),
                ("/admin/v1/replay", #"{"provider":{"name":"juspay"}}"#, "provider"),
                ("/admin/v1/replay", #"{"provider":""}"#, "provider"),
                ("/admin/v1/replay", #"{"provider":"juspay","type":"payment.bogus"}"#, "type"),
                ("/admin/v1/replay", #"{"provider":"juspay","state":5}"#, "state"),
                ("/admin/v1/replay", #"{"event_ids":"\#(ids[0])"}"#, "event_ids"),
                ("/admin/v1/replay", #"{"event_ids":[]}"#, "event_ids"),
                ("/admin/v1/replay", #"{"event_ids":["\#(ids[0])",7]}"#, "event_ids[1]"),
                ("/admin/v1/replay", #"{"event_ids":["evt_nope"]}"#, "event_ids[0]"),
                ("/admin/v1/replay", #"{"provider":"juspay","dry_run":true,"dry_run":false}"#, "dry_run"),
                ("/admin/v1/events/\(ids[0])/replay", #"{"dry_run":"yes"}"#, "dry_run"),
                ("/admin/v1/events/\(ids[0])/replay", #"{"endpoint":{}}"#, "endpoint"),
                ("/admin/v1/events/\(ids[0])/replay", #"{"endpoint":["orders"]}"#, "endpoint"),
            ]
            for (uri, body, field) in cases {
                let response = try await post(client, uri, body)
                #expect(response.status == .badRequest, "\(body)")
                let (code, detail) = try error(response)
                #expect(code == "invalid_field", "\(body): \(code)")
                #expect(detail.contains("'\(field)'"), "\(body): \(detail)")
            }
            #expect(try await state(of: log) == before)

            // Control: the same selections with the right types do change the log.
            #expect(try await post(client, "/admin/v1/replay", #"{"provider":"juspay","dry_run":true}"#).status == .ok)
            #expect(try await state(of: log) == before)
            let real = try await post(client, "/admin/v1/replay", #"{"provider":"juspay","endpoint":"orders","dry_run":false}"#)
            #expect(real.status == .accepted)
            #expect(try JSONParser().parse(Array(buffer: real.body))["deliveries"] == .number("3"))
            #expect(try await state(of: log).deliveries.values.reduce(0, +) == 9)
        }
    }

    @Test func aWrongTypedReasonIs400AndTheEndpointStaysEnabled() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            for body in [#"{"reason":{}}"#, #"{"reason":42}"#, #"{"reason":null}"#, #"{"reason":""}"#] {
                let response = try await post(client, "/admin/v1/endpoints/orders/disable", body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(try error(response).detail.contains("'reason'"))
            }
            #expect(try await log.disabledEndpoints().isEmpty)
            #expect(try await post(client, "/admin/v1/endpoints/orders/disable", #"{"reason":"maintenance"}"#).status == .ok)
            #expect(try await log.disabledEndpoints() == ["orders": "maintenance"])
        }
    }

    @Test func unknownFieldsAreRefusedByName() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let ids = try await seed(client)
            #expect(try await post(client, "/admin/v1/endpoints/audit/disable", #"{"reason":"down"}"#).status == .ok)
            let before = try await state(of: log)
            let cases: [(uri: String, body: String, field: String)] = [
                ("/admin/v1/replay", #"{"provider":"juspay","dryrun":true}"#, "dryrun"),
                ("/admin/v1/replay", #"{"provider":"juspay","endpoints":["orders"]}"#, "endpoints"),
                ("/admin/v1/events/\(ids[1])/replay", #"{"dryRun":true}"#, "dryRun"),
                ("/admin/v1/events/\(ids[1])/replay", #"{"event_ids":["\#(ids[2])"]}"#, "event_ids"),
                ("/admin/v1/endpoints/orders/disable", #"{"why":"x"}"#, "why"),
                ("/admin/v1/endpoints/audit/enable", #"{"force":true}"#, "force"),
            ]
            for (uri, body, field) in cases {
                let response = try await post(client, uri, body)
                #expect(response.status == .badRequest, "\(uri) \(body)")
                let (code, detail) = try error(response)
                #expect(code == "unknown_field")
                #expect(detail.contains("'\(field)'"), "\(detail)")
            }
            #expect(try await state(of: log) == before)
            #expect(try await post(client, "/admin/v1/endpoints/audit/enable", "{}").status == .ok)
            #expect(try await log.disabledEndpoints().isEmpty)
        }
    }

    @Test func aBodyMustBeOneJSONObjectSentAsJSON() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let ids = try await seed(client)
            let before = try await state(of: log)
            let body = ByteBuffer(string: #"{"provider":"juspay"}"#)
            for contentType in [nil, "text/plain", "application/x-www-form-urlencoded"] as [String?] {
                var headers = admin
                if let contentType { headers[.contentType] = contentType }
                let response = try await client.executeRequest(uri: "/admin/v1/replay", method: .post, headers: headers, body: body)
                #expect(response.status == .unsupportedMediaType, "\(contentType ?? "none")")
                #expect(try error(response).code == "unsupported_media_type")
            }
            for text in ["[]", #""provider""#, "null", "{", #"{"provider":"juspay"} {}"#] {
                let response = try await post(client, "/admin/v1/replay", text)
                #expect(response.status == .badRequest, "\(text)")
                #expect(try error(response).code == "malformed_body")
            }
            // The selection body is required; an empty selection selects nothing on purpose.
            #expect(try error(try await client.executeRequest(uri: "/admin/v1/replay", method: .post, headers: admin, body: nil)).code == "malformed_body")
            let empty = try await post(client, "/admin/v1/replay", #"{"dry_run":false}"#)
            #expect(empty.status == .badRequest)
            #expect(try error(empty).code == "invalid_request")
            #expect(try await state(of: log) == before)

            // Where the body is optional, none is `{}`; a charset parameter is fine.
            let none = try await client.executeRequest(uri: "/admin/v1/events/\(ids[0])/replay", method: .post, headers: admin, body: nil)
            #expect(none.status == .accepted)
            var utf8 = admin
            utf8[.contentType] = "application/json; charset=utf-8"
            let withCharset = try await client.executeRequest(uri: "/admin/v1/events/\(ids[0])/replay", method: .post, headers: utf8,
                                                              body: ByteBuffer(string: #"{"endpoint":"orders"}"#))
            #expect(withCharset.status == .accepted)
            #expect(try await log.deliveries(forEvent: ids[0]).count == 5)
        }
    }

    @Test func queryParametersAreCheckedAndAnEmptyValueIsRefused() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            _ = try await seed(client)
            let cases: [(query: String, code: String, parameter: String)] = [
                ("cursor=", "invalid_parameter", "cursor"),
                ("provider=", "invalid_parameter", "provider"),
                ("limit", "invalid_parameter", "limit"),
                ("cursor=nope", "invalid_parameter", "cursor"),
                ("limit=abc", "invalid_parameter", "limit"),
                ("limit=0", "invalid_parameter", "limit"),
                ("limit=501", "invalid_parameter", "limit"),
                ("limit=+5", "invalid_parameter", "limit"),
                ("limit=5.0", "invalid_parameter", "limit"),
                ("limit=1&limit=2", "invalid_parameter", "limit"),
                ("type=bogus", "invalid_parameter", "type"),
                ("Limit=5", "unknown_parameter", "Limit"),
                ("provider=juspay&page=2", "unknown_parameter", "page"),
                ("provider=%FF", "invalid_parameter", "query string"),
            ]
            for (query, code, parameter) in cases {
                let response = try await client.get("/admin/v1/events?\(query)", headers: admin)
                #expect(response.status == .badRequest, "?\(query)")
                let found = try error(response)
                #expect(found.code == code, "?\(query): \(found.code)")
                #expect(found.detail.contains(parameter), "?\(query): \(found.detail)")
            }
            // Routes that take no query parameters refuse any.
            for uri in ["/admin/v1/endpoints?verbose=1", "/admin/v1/openapi.yaml?format=json"] {
                let response = try await client.get(uri, headers: admin)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(try error(response).code == "unknown_parameter")
            }
            let page = try await client.get("/admin/v1/events?provider=juspay&limit=2&type=payment.succeeded", headers: admin)
            #expect(page.status == .ok)
            let next = try #require(try JSONParser().parse(Array(buffer: page.body))["next_cursor"]?.stringValue)
            #expect(try await client.get("/admin/v1/events?cursor=\(next)", headers: admin).status == .ok)
            #expect(try await client.get("/admin/v1/events?", headers: admin).status == .ok)
        }
    }

    @Test func aBadPathParameterIs400NamingItAndAnUnknownOneIs404() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let ids = try await seed(client)
            let before = try await state(of: log)
            let cases: [(method: HTTPRequest.Method, uri: String, parameter: String)] = [
                (.get, "/admin/v1/events/%C2%84", "id"),
                (.get, "/admin/v1/events/%FF", "id"),
                (.get, "/admin/v1/events/evt_01jd2q6n8s6m3w7x4y5z6a7b8c", "id"),
                (.get, "/admin/v1/events/\(ids[0])x/deliveries", "id"),
                (.post, "/admin/v1/events/%E2%82/replay", "id"),
                (.post, "/admin/v1/endpoints/%FF/enable", "name"),
                (.post, "/admin/v1/endpoints/or%ZZders/disable", "name"),
            ]
            for (method, uri, parameter) in cases {
                let response = try await client.executeRequest(uri: uri, method: method, headers: admin, body: nil)
                #expect(response.status == .badRequest, "\(method) \(uri)")
                let found = try error(response)
                #expect(found.code == "invalid_parameter")
                #expect(found.detail.contains("'\(parameter)'"), "\(uri): \(found.detail)")
            }
            let missing = "evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C"
            for (method, uri) in [(HTTPRequest.Method.get, "/admin/v1/events/\(missing)"), (.get, "/admin/v1/events/\(missing)/deliveries"),
                                  (.post, "/admin/v1/events/\(missing)/replay"), (.post, "/admin/v1/endpoints/payments/enable"),
                                  (.get, "/admin/v1/events/"), (.get, "/admin/v1//events"), (.get, "/admin/v1/endpoints/")] {
                let response = try await client.executeRequest(uri: uri, method: method, headers: admin, body: nil)
                #expect(response.status == .notFound, "\(method) \(uri)")
                #expect(try error(response).code == "not_found")
            }
            // A body naming an endpoint that is not configured is a 404 too, and replays nothing.
            for (uri, body) in [("/admin/v1/events/\(ids[0])/replay", #"{"endpoint":"payments"}"#), ("/admin/v1/replay", #"{"endpoint":"payments"}"#)] {
                let response = try await post(client, uri, body)
                #expect(response.status == .notFound, "\(uri)")
                #expect(try error(response).detail.contains("'payments'"))
            }
            #expect(try await state(of: log) == before)
            // The endpoint name is percent-decoded.
            #expect(try await client.executeRequest(uri: "/admin/v1/endpoints/%6Frders/disable", method: .post, headers: admin, body: nil).status == .ok)
            #expect(try await log.disabledEndpoints()["orders"] != nil)
        }
    }

    @Test func theAdminTimeFormatIsRFC3339DateTimeExactly() {
        let valid: [(String, String)] = [
            ("2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z"),
            ("2026-11-23t10:00:00z", "2026-11-23T10:00:00Z"),
            ("2026-11-23T10:00:00.5+05:30", "2026-11-23T04:30:00.500Z"),
            ("2026-11-23T10:00:00.123456-00:00", "2026-11-23T10:00:00.123Z"),
            ("2026-11-23T10:00:00+23:59", "2026-11-22T10:01:00Z"),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59Z"),
            ("2016-12-31T18:59:60-05:00", "2016-12-31T23:59:59Z"),
            ("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
            ("0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00Z"),
            ("0000-02-29T12:00:00Z", "0001-01-01T00:00:00Z"),
            ("9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59.999Z"),
        ]
        for (text, expected) in valid {
            #expect(AdminTime.parse(text)?.rfc3339 == expected, "\(text)")
        }
        for text in ["2026-11-23 10:00:00Z", "2026-11-23T10:00:00", "2026-11-23T10:00Z", " 2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z ",
                     "2026-02-29T00:00:00Z", "2026-11-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T12:60:00Z",
                     "2026-11-23T12:00:60Z", "2026-11-23T10:00:00+24:00", "2026-11-23T10:00:00+0530", "2026-11-23T10:00:00.Z",
                     "2026-11-23", "+02026-11-23T10:00:00Z", "2026-1-23T10:00:00Z", "2026-11-23T10:00:00Z0", ""] {
            #expect(AdminTime.parse(text) == nil, "\(text)")
        }
    }

    @Test func theUnauthorizedAnswerComesBeforeAnyInputIsRead() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            let response = try await client.executeRequest(uri: "/admin/v1/replay?bogus=1", method: .post, headers: [:], body: ByteBuffer(string: "{"))
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == "Bearer")
            let wrongMethod = try await client.executeRequest(uri: "/admin/v1/replay", method: .delete, headers: admin, body: nil)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "POST")
            #expect(try error(wrongMethod).code == "method_not_allowed")
        }
    }
}
