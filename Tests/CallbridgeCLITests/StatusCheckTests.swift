import CallbridgeCrypto
import CallbridgeModel
import CallbridgeSimulator
import CallbridgeTestSupport
import Foundation
import Testing

/// Status checks as a merchant meets them (P8): the real binary with its
/// SQLite log and the shipped handler files, a real sink, and
/// `StatusAPISimulator` (the server `callbridge simulate serve-status` runs)
/// playing each provider's status API with its documented answer shape.
@Suite(.serialized) struct StatusCheckTests {
    static let secret = "whsec_" + ByteEncoding.base64(Array("status-check-endpoint-signing-32".utf8))
    static let luxfinKey = "lx-status-api-key"
    static let juspayKey = "juspay-api-key-1"
    static let juspayMerchant = "merchant-sim"
    static let nonstopayKey = providerSecrets["NONSTOPAY_API_KEY"] ?? "nsp_live_key_abc"

    /// callbridge.yaml: one endpoint that takes verified events only (the default).
    static func config(sinkPort: Int, handlers: String = repositoryRoot + "/handlers", checks: [String: String] = [:]) -> String {
        let settings = ["poll_interval": "100ms", "lease": "4s", "min_interval": "1s", "retry": "[300ms, 300ms, 300ms]", "rate_per_provider": "1000"]
            .merging(checks) { $1 }.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        return """
        listen: {host: 127.0.0.1, port: 0}
        storage: {sqlite: ./data/callbridge.sqlite}
        handlers: \(handlers)
        admin: {token: "${ADMIN_TOKEN}"}
        dispatch: {lease_margin: 1s, poll_interval: 200ms}
        status_checks: {\(settings)}
        endpoints:
          - {name: verified, url: "http://127.0.0.1:\(sinkPort)/verified", secret: "${CHECKS_SECRET}"}
        """
    }

    static func environment(apiPort: Int) -> [String: String] {
        [
            "CHECKS_SECRET": secret,
            "LUXFIN_API_KEY": luxfinKey, "LUXFIN_API_BASE": "http://127.0.0.1:\(apiPort)",
            "JUSPAY_API_KEY": juspayKey, "JUSPAY_MERCHANT_ID": juspayMerchant, "JUSPAY_API_BASE": "http://127.0.0.1:\(apiPort)",
            "NONSTOPAY_API_BASE": "http://127.0.0.1:\(apiPort)",
        ]
    }

    static func simulator(_ provider: SimulatedProvider) -> StatusAPISimulator {
        switch provider {
        case .juspay: return StatusAPISimulator(provider: .juspay, credentials: .init(apiKey: juspayKey, merchantID: juspayMerchant))
        case .luxfin: return StatusAPISimulator(provider: .luxfin, credentials: .init(apiKey: luxfinKey, merchantID: nil))
        case .nonstopay: return StatusAPISimulator(provider: .nonstopay, credentials: .init(apiKey: nonstopayKey, merchantID: nil))
        }
    }

    /// A browser return to the unsigned Luxfin route (303 to the landing page).
    static func luxfinReturn(_ server: LiveServer, order: String, status: String, amount: String? = nil) async {
        var query = "order_id=" + FormURLEncoder.encode(order) + "&status=" + FormURLEncoder.encode(status)
        if let amount { query += "&amount=" + amount }
        let (response, problem) = await server.exchange(Wire.make("GET", "/luxfin/return?" + query))
        #expect(response?.status == 303, "return: \(problem ?? response?.bodyText ?? "")")
    }

    /// Envelopes the sink received on `path` for `order`.
    static func envelopes(_ sink: RecordingSink, order: String) -> [JSONValue] {
        sink.received(path: "/verified").compactMap { try? JSONParser().parse($0.body) }.filter { $0["data"]?["order_id"]?.stringValue == order }
    }

    static func orderJSON(_ server: LiveServer, provider: String, order: String) async -> JSONValue? {
        await orderJSON(port: server.port, provider: provider, order: order)
    }

    static func orderJSON(port: Int, provider: String, order: String) async -> JSONValue? {
        let target = "/admin/v1/orders/\(provider)/" + FormURLEncoder.encodePath(order)
        let (response, _) = await LiveServer.exchange(Wire.make("GET", target, headers: [("Authorization", "Bearer \(LiveServer.adminToken)")]), port: port)
        guard let response, response.status == 200 else { return nil }
        return try? JSONParser().parse(response.body)
    }

    /// The status_check item of every return (redirect) in the order's timeline.
    static func hintVerdicts(_ order: JSONValue?) -> [JSONValue] {
        guard case .array(let items)? = order?["timeline"] else { return [] }
        return items.filter { $0["channel"]?.stringValue == "redirect" }.compactMap { $0["status_check"] }
    }

    /// A copy of the shipped handler files with `provider`'s poll schedule replaced.
    static func handlersPolling(_ provider: String, every wait: String, steps: Int, in directory: String) throws -> String {
        let target = directory + "/handlers"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: repositoryRoot + "/handlers") where file.hasSuffix(".yaml") {
            var text = try String(contentsOfFile: repositoryRoot + "/handlers/" + file, encoding: .utf8)
            if file == provider + ".yaml" {
                let schedule = "  poll: [2m, 5m, 15m, 1h, 6h]"
                #expect(text.contains(schedule), "the shipped \(file) should poll on the default schedule")
                text = text.replacingOccurrences(of: schedule, with: "  poll: [" + Array(repeating: wait, count: steps).joined(separator: ", ") + "]")
            }
            try text.write(toFile: target + "/" + file, atomically: true, encoding: .utf8)
        }
        return target
    }

    @Test("a Luxfin return is confirmed into a verified payment.succeeded that reaches a verified-only endpoint; a contradicted one is recorded as differing")
    func luxfinReturnConfirmed() async throws {
        let api = Self.simulator(.luxfin)
        api.setDefault(.init(status: "SUCCESS", amount: "25.00", currency: "USD"))
        api.script(order: "LX-LIE", [.answer(.init(status: "PENDING", amount: "25.00", currency: "USD"))])
        let sink = RecordingSink()
        try await api.run { apiPort in
            try await sink.run { sinkPort in
                let server = try await LiveServer(config: Self.config(sinkPort: sinkPort), environment: Self.environment(apiPort: apiPort))
                await Self.luxfinReturn(server, order: "LX-1", status: "success", amount: "25.00")
                await Self.luxfinReturn(server, order: "LX-LIE", status: "success")

                #expect(await eventually { !Self.envelopes(sink, order: "LX-1").isEmpty })
                let delivered = Self.envelopes(sink, order: "LX-1")
                #expect(delivered.count == 1, "the verified-only endpoint gets the answer, never the hint")
                let data = delivered.first?["data"]
                #expect(delivered.first?["type"]?.stringValue == "payment.succeeded")
                #expect(data?["channel"]?.stringValue == "status_check")
                #expect(data?["verification"]?.stringValue == "provider_api")
                #expect(data?["verified"] == .bool(true))
                #expect(data?["amount"]?.stringValue == "25.00")
                #expect(data?["order"]?["state"]?.stringValue == "succeeded")

                let order = await Self.orderJSON(server, provider: "luxfin", order: "LX-1")
                #expect(order?["state"]?.stringValue == "succeeded")
                let hints = Self.hintVerdicts(order)
                #expect(hints.count == 1)
                #expect(hints.first?["verdict"]?.stringValue == "confirmed")
                #expect(hints.first?["answered_by"]?.stringValue == delivered.first?["id"]?.stringValue)
                #expect(api.stats().callsByOrder["LX-1"] == 1)

                let port = server.port
                #expect(await eventually { Self.hintVerdicts(await Self.orderJSON(port: port, provider: "luxfin", order: "LX-LIE")).first?["verdict"]?.stringValue != nil })
                let lie = Self.hintVerdicts(await Self.orderJSON(server, provider: "luxfin", order: "LX-LIE")).first
                #expect(lie?["verdict"]?.stringValue == "differs")
                #expect(lie?["detail"]?.stringValue?.contains("payment.pending") == true, "\(String(describing: lie))")
                #expect(api.stats().unauthorized == 0)
                _ = try await server.stop()
            }
        }
    }

    @Test("500 returns for one order within a second make one call: they join the check in flight, or wait min_interval for the next")
    func coalescesReturns() async throws {
        let api = Self.simulator(.luxfin)
        api.setDefault(.init(status: "SUCCESS", amount: "10.00", currency: "USD"))
        // A slow answer (below the call's timeout, half the 20 s lease): most returns arrive while it is in flight.
        api.setDelay(.seconds(3))
        let sink = RecordingSink()
        try await api.run { apiPort in
            try await sink.run { sinkPort in
                let server = try await LiveServer(config: Self.config(sinkPort: sinkPort, checks: ["min_interval": "5m", "lease": "20s"]),
                                                  environment: Self.environment(apiPort: apiPort))
                let port = server.port
                let started = ContinuousClock.now
                let answered = await withTaskGroup(of: Int.self) { group -> Int in
                    // Distinct statuses: no two returns share a dedup key, each is its own hint.
                    for worker in 0..<25 {
                        group.addTask {
                            var ok = 0
                            for n in 0..<20 {
                                let i = worker * 20 + n
                                let (response, _) = await LiveServer.exchange(Wire.make("GET", "/luxfin/return?order_id=LX-500&status=s\(i)"), port: port)
                                if response?.status == 303 { ok += 1 }
                            }
                            return ok
                        }
                    }
                    return await group.reduce(0, +)
                }
                let sendTime = ContinuousClock.now - started
                #expect(answered == 500)
                // The one call answers every return that joined it; any return after the answer waits for min_interval.
                #expect(await eventually(timeout: .seconds(30)) {
                    guard let order = await Self.orderJSON(port: port, provider: "luxfin", order: "LX-500") else { return false }
                    return Self.hintVerdicts(order).count == 500 && order["status_check"]?["answers"] == .number("1")
                })
                try await Task.sleep(for: .seconds(1))
                let order = await Self.orderJSON(server, provider: "luxfin", order: "LX-500")
                let hints = Self.hintVerdicts(order)
                let stats = api.stats()
                #expect(stats.callsByOrder["LX-500"] == 1, "calls: \(stats.callsByOrder), returns sent in \(sendTime)")
                let answeredHints = hints.filter { $0["verdict"]?.stringValue != nil }
                let waiting = hints.filter { $0["verdict"] == .null }
                #expect(answeredHints.count + waiting.count == 500)
                #expect(!answeredHints.isEmpty)
                #expect(Set(answeredHints.compactMap { $0["answered_by"]?.stringValue }).count == 1, "one answer for all it answered")
                let check = order?["status_check"]
                if !waiting.isEmpty {
                    // The late ones joined the next check, due no sooner than min_interval after the first.
                    let last = check?["last_tried_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
                    let due = check?["due_at"]?.stringValue.flatMap(Timestamp.init(rfc3339:))
                    #expect(check?["state"]?.stringValue == "waiting")
                    #expect(due != nil && last != nil && due! >= last!.adding(milliseconds: 300_000))
                }
                print("coalescing: 500 returns sent in \(sendTime), \(stats.totalCalls) call(s); \(answeredHints.count) answered by it, \(waiting.count) waiting for the next")
                _ = try await server.stop()
            }
        }
    }

    @Test("a process killed during a check finishes it after a restart")
    func killedDuringCheck() async throws {
        let api = Self.simulator(.luxfin)
        api.setDefault(.init(status: "SUCCESS", amount: "30.00", currency: "USD"))
        api.script(order: "LX-KILL", [.stall(.seconds(20)), .answer(.init(status: "SUCCESS", amount: "30.00", currency: "USD")),
                                      .answer(.init(status: "SUCCESS", amount: "30.00", currency: "USD"))])
        let sink = RecordingSink()
        try await api.run { apiPort in
            try await sink.run { sinkPort in
                let server = try await LiveServer(config: Self.config(sinkPort: sinkPort), environment: Self.environment(apiPort: apiPort))
                await Self.luxfinReturn(server, order: "LX-KILL", status: "success")
                #expect(await eventually { api.stats().inFlight == 1 }, "the first call reaches the API")
                kill(server.pid, SIGKILL)
                for _ in 0..<100 where server.isRunning { try await Task.sleep(for: .milliseconds(50)) }
                #expect(try await server.restartIfDead())

                #expect(await eventually(timeout: .seconds(30)) { !Self.envelopes(sink, order: "LX-KILL").isEmpty })
                #expect(Self.envelopes(sink, order: "LX-KILL").first?["data"]?["channel"]?.stringValue == "status_check")
                let order = await Self.orderJSON(server, provider: "luxfin", order: "LX-KILL")
                #expect(order?["state"]?.stringValue == "succeeded")
                let outcomes = (order?["status_check"]?["recent_tries"]?.arrayValue ?? []).compactMap { $0["outcome"]?.stringValue }
                #expect(outcomes.contains("abandoned"), "the killed try is recorded: \(outcomes)")
                #expect(outcomes.first == "answered")
                #expect(api.stats().callsByOrder["LX-KILL"] == 2)
                _ = try await server.stop()
            }
        }
    }

    @Test("a status API that answers 503 and then 200 is retried")
    func retriesServerErrors() async throws {
        let api = Self.simulator(.luxfin)
        api.script(order: "LX-503", [.error(status: 503, retryAfter: nil), .answer(.init(status: "SUCCESS", amount: "12.50", currency: "USD"))])
        let sink = RecordingSink()
        try await api.run { apiPort in
            try await sink.run { sinkPort in
                let server = try await LiveServer(config: Self.config(sinkPort: sinkPort), environment: Self.environment(apiPort: apiPort))
                await Self.luxfinReturn(server, order: "LX-503", status: "success")
                #expect(await eventually { !Self.envelopes(sink, order: "LX-503").isEmpty })
                let order = await Self.orderJSON(server, provider: "luxfin", order: "LX-503")
                let tries = order?["status_check"]?["recent_tries"]?.arrayValue ?? []
                #expect(tries.compactMap { $0["outcome"]?.stringValue } == ["answered", "retry"])
                #expect(tries.last?["http_status"] == .number("503"))
                #expect(api.stats().callsByOrder["LX-503"] == 2)
                _ = try await server.stop()
            }
        }
    }

    @Test("a pending Juspay order becomes payment.succeeded by polling alone, with no webhook")
    func juspayPolling() async throws {
        let api = Self.simulator(.juspay)
        let pending = StatusAPISimulator.OrderAnswer(status: "PENDING_VBV", amount: "100.00", currency: "INR")
        api.script(order: "JP-POLL", [.answer(pending), .answer(pending), .answer(.init(status: "CHARGED", amount: "100.00", currency: "INR"))])
        let sink = RecordingSink()
        let directory = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let handlers = try Self.handlersPolling("juspay", every: "1s", steps: 4, in: directory)
        try await api.run { apiPort in
            try await sink.run { sinkPort in
                let server = try await LiveServer(config: Self.config(sinkPort: sinkPort, handlers: handlers), environment: Self.environment(apiPort: apiPort))
                // The buyer comes back with a signed "pending" return; no webhook ever comes.
                let result = try runCallbridge(["simulate", "juspay", "pending", "--channel", "redirect", "--order-id", "JP-POLL",
                                                "--to", "http://127.0.0.1:\(server.port)", "--handlers", handlers],
                                               environment: server.environment, directory: server.directory)
                #expect(result.status == 0, "\(result.output)")
                #expect(await eventually(timeout: .seconds(30)) {
                    Self.envelopes(sink, order: "JP-POLL").contains { $0["type"]?.stringValue == "payment.succeeded" }
                })
                let succeeded = Self.envelopes(sink, order: "JP-POLL").first { $0["type"]?.stringValue == "payment.succeeded" }
                #expect(succeeded?["data"]?["channel"]?.stringValue == "status_check")
                #expect(succeeded?["data"]?["order"]?["previous_state"]?.stringValue == "pending")
                let order = await Self.orderJSON(server, provider: "juspay", order: "JP-POLL")
                #expect(order?["state"]?.stringValue == "succeeded")
                #expect(order?["status_check"]?["state"]?.stringValue == "idle", "a settled order is not polled any more")
                #expect(api.stats().callsByOrder["JP-POLL"] == 3, "after the return, then two polls: \(api.stats().callsByOrder)")
                // The same pending answer twice is one event (and one more try), not two.
                let checks = (order?["timeline"]?.arrayValue ?? []).filter { $0["channel"]?.stringValue == "status_check" }
                #expect(checks.compactMap { $0["type"]?.stringValue } == ["payment.pending", "payment.succeeded"])
                _ = try await server.stop()
            }
        }
    }

    @Test("an order id full of ../, ?, # and % reaches the status API only as one encoded value")
    func hostileOrderIDsAreEncoded() async throws {
        let hostile = "../admin?x=1#y%z"
        let luxfin = Self.simulator(.luxfin)
        luxfin.setDefault(.init(status: "SUCCESS", amount: "5.00", currency: "USD"))
        let juspay = Self.simulator(.juspay)
        juspay.setDefault(.init(status: "CHARGED", amount: "5.00", currency: "INR"))
        let sink = RecordingSink()
        try await luxfin.run { luxfinPort in
            try await juspay.run { juspayPort in
                try await sink.run { sinkPort in
                    var environment = Self.environment(apiPort: luxfinPort)
                    environment["JUSPAY_API_BASE"] = "http://127.0.0.1:\(juspayPort)"
                    // A 20 s lease gives each call a 10 s timeout: a busy machine must not turn one
                    // call into a timed-out one and its retry (this test counts the calls).
                    let server = try await LiveServer(config: Self.config(sinkPort: sinkPort, checks: ["lease": "20s"]), environment: environment)
                    // Luxfin puts the id in the query; Juspay in the path (asked by the operator command).
                    await Self.luxfinReturn(server, order: hostile, status: "success")
                    #expect(await eventually { !Self.envelopes(sink, order: hostile).isEmpty })
                    #expect(luxfin.stats().rawTargets == ["/payment/status?payment_id=..%2Fadmin%3Fx%3D1%23y%25z"])

                    for id in [hostile, ".."] {
                        let result = try runCallbridge(["orders", "check", "juspay", id, "--wait", "20", "--config", "callbridge.yaml"],
                                                       environment: server.environment, directory: server.directory)
                        #expect(result.status == 0 && result.output.contains("answered"), "\(result.output)")
                    }
                    #expect(juspay.stats().rawTargets == ["/orders/..%2Fadmin%3Fx%3D1%23y%25z", "/orders/%2E%2E"])
                    #expect(juspay.stats().callsByOrder[hostile] == 1 && juspay.stats().callsByOrder[".."] == 1)
                    _ = try await server.stop()
                }
            }
        }
    }

    @Test("a NonStoPay return is checked by its invoice id and the answer names the merchant's order")
    func nonstopayByInvoice() async throws {
        let api = Self.simulator(.nonstopay)
        api.script(order: "185", [.answer(.init(status: "invoice:paid", amount: "15.04", currency: "EUR"))])
        api.script(order: "186", [.answer(.init(status: "invoice:waiting", amount: "9.00", currency: "EUR"))])
        let sink = RecordingSink()
        try await api.run { apiPort in
            try await sink.run { sinkPort in
                let server = try await LiveServer(config: Self.config(sinkPort: sinkPort), environment: Self.environment(apiPort: apiPort))
                let (response, _) = await server.exchange(Wire.make("GET", "/nonstopay/return/success?order_id=NSP-1&invoice_id=185"))
                #expect(response?.status == 303)
                #expect(await eventually { !Self.envelopes(sink, order: "NSP-1").isEmpty })
                let data = Self.envelopes(sink, order: "NSP-1").first?["data"]
                #expect(data?["transaction_id"]?.stringValue == "185")
                #expect(data?["amount"]?.stringValue == "15.04")
                #expect(data?["currency"]?.stringValue == "EUR")
                #expect(api.stats().rawTargets == ["/api/invoice/status/?id=185"])

                // The admin API asks now; NonStoPay needs the invoice id when no event gave one.
                func check(_ target: String, _ body: String?) async -> RawHTTPResponse? {
                    var headers = [("Authorization", "Bearer \(LiveServer.adminToken)")]
                    if body != nil { headers.append(("Content-Type", "application/json")) }
                    return await server.exchange(Wire.make("POST", target, headers: headers, body: body.map { Array($0.utf8) })).response
                }
                let refused = await check("/admin/v1/orders/nonstopay/NSP-2/check", nil)
                #expect(refused?.status == 409 && refused.map { errorBodyProblem($0, code: "transaction_id_required") } == .some(nil))
                #expect(await check("/admin/v1/orders/nope/NSP-2/check", nil)?.status == 404)
                let accepted = await check("/admin/v1/orders/nonstopay/NSP-2/check", #"{"transaction_id":"186"}"#)
                #expect(accepted?.status == 202, "\(accepted?.bodyText ?? "")")
                #expect(await eventually { !Self.envelopes(sink, order: "NSP-2").isEmpty })
                #expect(Self.envelopes(sink, order: "NSP-2").first?["type"]?.stringValue == "payment.pending")
                _ = try await server.stop()
            }
        }
    }

    @Test("the concurrency cap holds: at most max_in_flight calls at once")
    func concurrencyCap() async throws {
        let api = Self.simulator(.luxfin)
        api.setDefault(.init(status: "SUCCESS", amount: "1.00", currency: "USD"))
        api.setDelay(.milliseconds(400))
        let sink = RecordingSink()
        try await api.run { apiPort in
            try await sink.run { sinkPort in
                let server = try await LiveServer(config: Self.config(sinkPort: sinkPort, checks: ["max_in_flight": "3", "max_in_flight_per_provider": "3"]),
                                                  environment: Self.environment(apiPort: apiPort))
                let port = server.port
                await withTaskGroup(of: Void.self) { group in
                    for i in 0..<12 {
                        group.addTask { _ = await LiveServer.exchange(Wire.make("GET", "/luxfin/return?order_id=LX-CAP-\(i)&status=success"), port: port) }
                    }
                }
                #expect(await eventually(timeout: .seconds(30)) { api.stats().callsByOrder.count == 12 && api.stats().inFlight == 0 })
                let stats = api.stats()
                #expect(stats.maxConcurrent <= 3, "max concurrent \(stats.maxConcurrent)")
                #expect(stats.maxConcurrent == 3, "12 orders waiting should fill the 3 slots")
                print("concurrency cap 3: 12 checks, at most \(stats.maxConcurrent) at once")
                _ = try await server.stop()
            }
        }
    }
}

/// Percent-encoding for test URLs (RFC 3986 unreserved characters kept).
enum FormURLEncoder {
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    static func encodePath(_ text: String) -> String { encode(text) }
}
