import CallbridgeModel
import CallbridgeServer
import CallbridgeStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import Yams

/// The admin API over a live listener and a real SQLite log.
@Suite struct AdminAPITests {
    static let token = "adm_test_token_9f8e7d"
    var adminEnvironment: [String: String] {
        var env = testEnvironment
        env["CALLBRIDGE_ADMIN_TOKEN"] = AdminAPITests.token
        return env
    }
    let admin: HTTPFields = [.authorization: "Bearer \(AdminAPITests.token)"]

    func server() throws -> TestServer {
        try TestServer(configYAML: """
        admin: {token: "${CALLBRIDGE_ADMIN_TOKEN}"}
        endpoints:
          - {name: orders, url: "http://127.0.0.1:9/orders", secret: "${ORDERS_SECRET}"}
        """, environment: adminEnvironment)
    }

    func json(_ response: TestResponse) throws -> JSONValue {
        try JSONParser().parse(Array(buffer: response.body))
    }

    @Test func aWrongOrMissingTokenIs401WithoutDetail() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            for headers in [HTTPFields(), [.authorization: "Bearer nope"], [.authorization: "Basic \(AdminAPITests.token)"]] as [HTTPFields] {
                let response = try await client.get("/admin/v1/events", headers: headers)
                #expect(response.status == .unauthorized)
                #expect(try json(response) == .object([("error", .string("unauthorized"))]))
            }
        }
    }

    @Test func withoutAConfiguredTokenTheAdminAPIIsOff() async throws {
        let server = try TestServer()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            let response = try await client.get("/admin/v1/events", headers: admin)
            #expect(response.status == .serviceUnavailable)
            #expect(try json(response)["error"] == .string("admin_disabled"))
        }
    }

    @Test func eventsArePaginatedByCursorAndFiltered() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, _ in
            for i in 0..<5 {
                _ = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_page_\(i)", orderID: "ord_p\(i)"), headers: juspayAuth)
            }
            _ = try await client.post("/juspay/webhook", json: juspayWebhook(id: "evt_page_r", event: "ORDER_REFUNDED"), headers: juspayAuth)
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try json(try await client.get("/admin/v1/events?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), headers: admin))
                guard case .array(let items)? = page["data"] else { Issue.record("no data array"); return }
                seen += items.compactMap { $0["id"]?.stringValue }
                cursor = page["next_cursor"]?.stringValue
            } while cursor != nil
            #expect(seen.count == 6)
            #expect(Set(seen).count == 6)
            #expect(seen == seen.sorted(by: >))
            let refunds = try json(try await client.get("/admin/v1/events?type=refund.succeeded", headers: admin))
            guard case .array(let refundItems)? = refunds["data"] else { Issue.record("no data array"); return }
            #expect(refundItems.count == 1)
            #expect(try await client.get("/admin/v1/events?type=bogus", headers: admin).status == .badRequest)
            #expect(try await client.get("/admin/v1/events?provider=luxfin", headers: admin).status == .ok)
        }
    }

    @Test func anEventShowsItsMaskedRawRequestDeliveriesAndCanBeReplayed() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let body = juspayWebhook(extraOrderFields: #","card":{"number":"4111111111111111"}"#)
            let id = try #require(try eventID(in: try await client.post("/juspay/webhook", json: body, headers: juspayAuth)))
            let detail = try json(try await client.get("/admin/v1/events/\(id)", headers: admin))
            #expect(detail.value(atPath: "event.id") == .string(id.rawValue))
            let raw = try #require(detail["raw_request"]?.renderedPretty())
            #expect(raw.contains("[redacted]"))
            #expect(!raw.contains("4111111111111111"))
            #expect(!raw.contains("s3cret-basic-pass"))

            let deliveries = try json(try await client.get("/admin/v1/events/\(id)/deliveries", headers: admin))
            guard case .array(let rows)? = deliveries["data"] else { Issue.record("no deliveries"); return }
            #expect(rows.count == 1)
            #expect(rows.first?["endpoint"] == .string("orders"))

            let replay = try await client.post("/admin/v1/events/\(id)/replay", json: "{}", headers: admin)
            #expect(replay.status == .accepted)
            #expect(try json(replay)["deliveries"] == .number("1"))
            #expect(try await log.deliveries(forEvent: id).count == 2)

            let selection = try await client.post("/admin/v1/replay", json: #"{"provider":"juspay","dry_run":true}"#, headers: admin)
            #expect(selection.status == .ok)
            #expect(try json(selection)["events"] == .number("1"))
            let empty = try await client.post("/admin/v1/replay", json: "{}", headers: admin)
            #expect(empty.status == .badRequest)
            let malformed = try await client.post("/admin/v1/replay", json: "{", headers: admin)
            #expect(malformed.status == .badRequest)
            #expect(try await client.get("/admin/v1/events/evt_01JD2Q6N8S6M3W7X4Y5Z6A7B8C", headers: admin).status == .notFound)
            #expect(try await client.get("/admin/v1/events/nope", headers: admin).status == .badRequest)
        }
    }

    @Test func endpointsCanBeListedDisabledAndEnabled() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        try await server.run { client, log in
            let disable = try await client.post("/admin/v1/endpoints/orders/disable", json: #"{"reason":"sink maintenance"}"#, headers: admin)
            #expect(disable.status == .ok)
            #expect(try await log.disabledEndpoints() == ["orders": "sink maintenance"])
            let list = try json(try await client.get("/admin/v1/endpoints", headers: admin))
            #expect(list.value(atPath: "data.0.state") == .string("disabled"))
            #expect(try await client.executeRequest(uri: "/admin/v1/endpoints/orders/enable", method: .post, headers: admin, body: nil).status == .ok)
            #expect(try await log.disabledEndpoints().isEmpty)
            #expect(try await client.executeRequest(uri: "/admin/v1/endpoints/payments/enable", method: .post, headers: admin, body: nil).status == .notFound)
            #expect(try await client.get("/admin/v1/endpoints/orders/enable", headers: admin).status == .methodNotAllowed)
        }
    }

    @Test func everyRegisteredAdminRouteIsInTheOpenAPIDocumentAndViceVersa() async throws {
        let server = try server()
        defer { server.directory.cleanUp() }
        let served = try await server.run { client, _ in
            let response = try await client.get("/admin/v1/openapi.yaml", headers: admin)
            #expect(response.status == .ok)
            return String(buffer: response.body)
        }
        let document = try #require(try Yams.load(yaml: served) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: Any])
        var documented: Set<String> = []
        for (path, item) in paths {
            for method in (item as? [String: Any])?.keys ?? [:].keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        let registered = Set(AdminAPI.routes.map { "\($0.method) \($0.path)" })
        #expect(documented == registered, "only documented: \(documented.subtracting(registered)); only registered: \(registered.subtracting(documented))")

        // What each route reads is what the document lists, and nothing else is allowed.
        func resolve(_ node: Any?) -> [String: Any]? {
            guard let object = node as? [String: Any] else { return nil }
            guard let ref = object["$ref"] as? String else { return object }
            var current: Any? = document
            for key in ref.dropFirst(2).split(separator: "/") { current = (current as? [String: Any])?[String(key)] }
            return resolve(current)
        }
        for route in AdminAPI.routes {
            let label = "\(route.method) \(route.path)"
            let operation = try #require(resolve(resolve(paths[route.path])?[route.method.lowercased()]), "\(label)")
            let parameters = (operation["parameters"] as? [Any] ?? []).compactMap(resolve)
            let query = parameters.filter { $0["in"] as? String == "query" }.compactMap { $0["name"] as? String }
            #expect(Set(query) == Set(route.query), "\(label): documented query \(query), read \(route.query)")
            let pathNames = parameters.filter { $0["in"] as? String == "path" }.compactMap { $0["name"] as? String }
            #expect(Set(pathNames) == Set(route.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) }), "\(label)")
            let requestBody = resolve(operation["requestBody"])
            if let fields = route.body {
                let schema = try #require(resolve(resolve(resolve(requestBody?["content"])?["application/json"])?["schema"]), "\(label) reads a body")
                #expect(schema["additionalProperties"] as? Bool == false, "\(label): the body schema must refuse unknown fields")
                #expect(Set((schema["properties"] as? [String: Any] ?? [:]).keys) == Set(fields), "\(label): documented body fields differ from \(fields)")
                #expect((requestBody?["required"] as? Bool ?? false) == route.bodyRequired, "\(label): requestBody.required")
                let responses = try #require(operation["responses"] as? [String: Any])
                #expect(responses["413"] != nil && responses["415"] != nil, "\(label): a body route answers 413 and 415")
            } else {
                #expect(requestBody == nil, "\(label) reads no body")
            }
            let responses = try #require(operation["responses"] as? [String: Any])
            for status in ["400", "401", "500", "503"] {
                #expect(responses[status] != nil, "\(label) does not document \(status)")
            }
        }

        // The enums in the document are the server's.
        let schemas = try #require(resolve(document["components"])?["schemas"] as? [String: Any])
        #expect(resolve(schemas["EventType"])?["enum"] as? [String] == EventType.allCases.map(\.rawValue))
        let replayBody = resolve(resolve(resolve(resolve(resolve(paths["/admin/v1/replay"])?["post"])?["requestBody"])?["content"])?["application/json"])?["schema"]
        let state = resolve((resolve(replayBody)?["properties"] as? [String: Any])?["state"])
        #expect(state?["enum"] as? [String] == ReplayState.allCases.map(\.rawValue))
    }
}
