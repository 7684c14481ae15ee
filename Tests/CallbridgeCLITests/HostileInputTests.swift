import CallbridgeCrypto
import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Testing

/// The real binary against a corpus of hostile requests (P5 item 5): every
/// case gets a 4xx JSON answer, a 2xx, or (browser returns) a 303 that stays
/// on the landing host — never a 5xx, a reset, a timeout or a dead process.
/// After each case the process must be alive and `/healthz` answer; every
/// webhook that was acked must be readable from the log.
@Suite(.serialized) struct HostileInputTests {
    static let landingHost = "landing.example"

    /// Limits small enough that the slow-client cases end in seconds.
    static func config(maxConnections: Int = 64) -> String {
        """
        listen: {host: 127.0.0.1, port: 0}
        storage: {sqlite: ./data/callbridge.sqlite}
        handlers: \(repositoryRoot)/handlers
        admin: {token: "${ADMIN_TOKEN}"}
        limits:
          max_body_bytes: 1048576
          max_connections: \(maxConnections)
          header_timeout: 1s
          body_timeout: 2s
          idle_timeout: 3s
          max_header_bytes: 65536
          max_headers: 100
          max_uri_bytes: 8192
          max_query_parameters: 256
        status_checks: {max_in_flight: 8, max_in_flight_per_provider: 4, rate_per_provider: 5}
        """
    }

    static let environment = ["CALLBRIDGE_LANDING_BASE": "https://\(landingHost)"]

    /// One hostile request.
    struct Case: Sendable {
        enum Step: Sendable {
            case send([UInt8])
            case pause(Duration)
        }

        var name: String
        var steps: [Step]
        /// The statuses the spec names for this case; nil: any 2xx, or a 4xx with a JSON error body.
        var expected: Set<Int>?
        /// The documented error code, when the case has one.
        var code: String?
        /// A browser return: the answer is a 303 whose Location must stay under the landing page.
        var landing = false
        /// Complete responses the connection must carry (pipelining).
        var responses = 1

        init(_ name: String, _ bytes: [UInt8], expect: Set<Int>? = nil, code: String? = nil, landing: Bool = false) {
            self.init(name, steps: [.send(bytes)], expect: expect, code: code, landing: landing)
        }

        init(_ name: String, steps: [Step], expect: Set<Int>? = nil, code: String? = nil, landing: Bool = false, responses: Int = 1) {
            self.name = name
            self.steps = steps
            self.expected = expect
            self.code = code
            self.landing = landing
            self.responses = responses
        }
    }

    /// What one case got.
    struct Outcome {
        var response: RawHTTPResponse?
        var responses: [RawHTTPResponse]
        var ending: RawHTTPConnection.Ending
        var elapsed: Duration
        var label: String { response.map { String($0.status) } ?? "no answer (\(ending))" }
    }

    // MARK: - The corpus

    static var corpus: [Case] {
        var cases: [Case] = []
        func webhook(_ name: String, _ body: String, expect: Set<Int>? = nil, code: String? = nil, contentType: String? = "application/json") {
            cases.append(Case(name, Wire.webhook(body, contentType: contentType), expect: expect, code: code))
        }
        func webhookBytes(_ name: String, _ body: [UInt8], expect: Set<Int>? = nil) {
            cases.append(Case(name, Wire.webhook(body), expect: expect))
        }
        let valid = Wire.webhookBody(id: "evt_hostile_valid")
        webhook("valid signed webhook (baseline)", valid, expect: [200])

        // Malformed HTTP: NIO must not answer an empty 400; Callbridge answers JSON.
        cases.append(Case("garbage request line", Array("GARBAGE\r\n\r\n".utf8), expect: [400], code: "malformed_request"))
        cases.append(Case("binary noise instead of a request", (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }, expect: [400], code: "malformed_request"))
        cases.append(Case("header line without a colon", Array("GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nConnection: close\r\n\r\n".utf8), expect: [400], code: "malformed_request"))
        cases.append(Case("space inside a header name", Array("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\nConnection: close\r\n\r\n".utf8), expect: [400], code: "malformed_request"))
        cases.append(Case("NUL byte in a header value", Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Nul: a\u{0}b\r\nConnection: close\r\n\r\n".utf8), expect: [400], code: "malformed_request"))
        cases.append(Case("NUL byte in the request target", Array("GET /health\u{0}z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), expect: [400], code: "malformed_request"))
        cases.append(Case("raw CR/LF inside the request target", Array("GET /luxfin/return?order_id=a\r\nSet-Cookie: x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), expect: [400]))
        cases.append(Case("unsupported HTTP version", Wire.make("GET", "/healthz", version: "HTTP/7.3")))
        cases.append(Case("HTTP/1.0 without Host", Array("GET /healthz HTTP/1.0\r\n\r\n".utf8), expect: [200]))
        cases.append(Case("bare LF line endings", Array("GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n".utf8)))
        cases.append(Case("obsolete folded header", Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\nConnection: close\r\n\r\n".utf8)))
        cases.append(Case("non-numeric Content-Length", Wire.make("POST", "/juspay/webhook", headers: [("Content-Length", "abc")]), expect: [400], code: "malformed_request"))
        cases.append(Case("negative Content-Length", Wire.make("POST", "/juspay/webhook", headers: [("Content-Length", "-5")]), expect: [400], code: "malformed_request"))
        cases.append(Case("two different Content-Lengths",
                          Wire.make("POST", "/juspay/webhook", headers: [("Content-Length", "5"), ("Content-Length", "6")]) + Array("123456".utf8),
                          expect: [400], code: "malformed_request"))
        cases.append(Case("Content-Length and chunked together",
                          Wire.make("POST", "/juspay/webhook", headers: [("Content-Length", "5"), ("Transfer-Encoding", "chunked")]) + Array("0\r\n\r\n".utf8),
                          expect: [400]))
        cases.append(Case("Content-Length of 2^64", Wire.make("POST", "/juspay/webhook", headers: [("Content-Length", "18446744073709551616")]), expect: [400, 413]))
        cases.append(Case("unknown method", Wire.make("BREW", "/juspay/webhook")))
        cases.append(Case("wrong method on a webhook route", Wire.make("DELETE", "/juspay/webhook"), expect: [405], code: "method_not_allowed"))
        cases.append(Case("absolute-form target to another host", Wire.make("GET", "http://evil.example/healthz")))
        cases.append(Case("asterisk target", Wire.make("GET", "*")))
        cases.append(Case("dot segments into the admin API", Wire.make("GET", "/juspay/webhook/../../admin/v1/events"), expect: [400, 401, 404]))
        cases.append(Case("encoded slash in a route path", Wire.make("POST", "/juspay%2Fwebhook", body: Array(valid.utf8)), expect: [404]))
        cases.append(Case("two requests pipelined in one write",
                          steps: [.send(Wire.make("GET", "/healthz", close: false) + Wire.make("GET", "/readyz"))], expect: [200], responses: 2))

        // Sizes of the head: 431, 414, 400 too_many_parameters.
        let kilobyte = String(repeating: "a", count: 1000)
        cases.append(Case("one 100 KB header", Wire.make("GET", "/healthz", headers: [("X-Big", String(repeating: "b", count: 100_000))]), expect: [431], code: "headers_too_large"))
        cases.append(Case("70 headers of 1 KB (70 KB, under max_headers)", Wire.make("GET", "/healthz", headers: (0..<70).map { ("X-H\($0)", kilobyte) }), expect: [431], code: "headers_too_large"))
        cases.append(Case("150 small header fields", Wire.make("GET", "/healthz", headers: (0..<150).map { ("X-F\($0)", "1") }), expect: [431], code: "headers_too_large"))
        cases.append(Case("100 KB header on a signed webhook", Wire.webhook(valid, headers: [("X-Big", String(repeating: "c", count: 100_000))]), expect: [431], code: "headers_too_large"))
        cases.append(Case("10 KB header name (under max_header_bytes)", Wire.make("GET", "/healthz", headers: [(String(repeating: "N", count: 10_000), "1")])))
        cases.append(Case("10,000 query parameters on a return", Wire.make("GET", "/luxfin/return?order_id=o&status=success&" + Wire.parameters(10_000)), expect: [414, 400]))
        cases.append(Case("10,000 query parameters on the webhook", Wire.webhook(valid).replacingTarget("/juspay/webhook", with: "/juspay/webhook?" + Wire.parameters(10_000)), expect: [414, 400]))
        cases.append(Case("300 query parameters (under max_uri_bytes)", Wire.make("GET", "/luxfin/return?order_id=o&status=success&" + Wire.parameters(300)), expect: [400], code: "too_many_parameters"))
        cases.append(Case("10,000 form parameters in a return body",
                          Wire.make("POST", "/luxfin/return", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                    body: Array(("order_id=o&status=success&" + Wire.parameters(10_000)).utf8)),
                          expect: [400, 303], landing: true))
        cases.append(Case("9 KB path", Wire.make("GET", "/" + String(repeating: "p", count: 9_000)), expect: [414], code: "uri_too_long"))
        cases.append(Case("100 KB query", Wire.make("GET", "/healthz?q=" + String(repeating: "q", count: 100_000)), expect: [414], code: "uri_too_long"))

        // Bodies: deep nesting, huge numbers, bad UTF-8, NUL, duplicate keys.
        webhook("array nested 100,000 deep", String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000), expect: [400])
        webhook("object nested 100,000 deep", String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000), expect: [400])
        webhook("500,000 unclosed brackets", String(repeating: "[", count: 500_000), expect: [400])
        webhook("deep nesting inside a valid webhook", Wire.webhookBody(id: "evt_hostile_deep", orderExtra: #","udf1":"# + String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000)))
        webhook("amount 1e999999999", Wire.webhookBody(id: "evt_hostile_num1", amount: "1e999999999"))
        webhook("amount with 200,000 digits", Wire.webhookBody(id: "evt_hostile_num2", amount: "1" + String(repeating: "0", count: 200_000) + ".5"))
        webhook("amount with an exponent beyond Int64", Wire.webhookBody(id: "evt_hostile_num3", amount: "-1.5e-99999999999999999999"))
        webhook("amount 1e309 (beyond Double)", Wire.webhookBody(id: "evt_hostile_num4", amount: "1e309"))
        webhook("numeric id with 40 digits", #"{"id":1234567890123456789012345678901234567890,"date_created":"2026-11-23T09:59:58Z","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"o","amount":1,"currency":"EUR"}}}"#)
        for (index, date) in [#""-100000000000000000""#, #""999999999999999""#, "-100000000000000000", "999999999999999", #""9223372036854775807""#,
                              #""-9223372036854775808""#, "1e300", #""99999-12-31T23:59:59Z""#, #""0000-01-01T00:00:00Z""#,
                              #""2026-02-30T25:61:61Z""#, #""""#, "null"].enumerated() {
            webhook("date_created \(date)", Wire.webhookBody(id: "evt_hostile_date\(index)", dateCreated: date))
        }
        let prefix = Array(#"{"id":"evt_hostile_utf8_"#.utf8)
        let suffix = Array(#"","date_created":"2026-11-23T09:59:58Z","event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":"o","amount":1,"currency":"EUR"}}}"#.utf8)
        webhookBytes("invalid UTF-8 bytes FF FE in a string", prefix + [0xFF, 0xFE] + suffix)
        webhookBytes("overlong UTF-8 encoding of '/'", prefix + [0xC0, 0xAF] + suffix)
        webhookBytes("UTF-8-encoded surrogate", prefix + [0xED, 0xA0, 0x80] + suffix)
        webhookBytes("truncated multibyte sequence", prefix + [0xE2, 0x82] + suffix)
        webhookBytes("UTF-8 byte order mark before the JSON", [0xEF, 0xBB, 0xBF] + Array(Wire.webhookBody(id: "evt_hostile_bom").utf8))
        webhook("lone surrogate escape", Wire.webhookBody(id: "evt_hostile_surrogate", orderID: #""ord_\ud800""#))
        webhook("reversed surrogate pair escape", Wire.webhookBody(id: "evt_hostile_surrogate2", orderID: #""ord_\udc00\ud800""#))
        webhookBytes("raw NUL byte inside a string", prefix + [0x61, 0x00, 0x62] + suffix)
        webhook("escaped NUL in the order id", Wire.webhookBody(id: "evt_hostile_nul1", orderID: #""ord\u0000x""#))
        webhook("escaped NUL in the dedup id", Wire.webhookBody(id: "evt_hostile\\u0000nul2"))
        webhook("duplicate keys", #"{"id":"evt_hostile_dupkey_a","id":"evt_hostile_dupkey_b","date_created":"2026-11-23T09:59:58Z","event_name":"ORDER_SUCCEEDED","event_name":"ORDER_FAILED","content":{"order":{"order_id":"o","amount":1,"amount":2,"currency":"EUR"}},"content":{}}"#)
        webhook("80,000 keys in one object", "{" + (0..<80_000).map { #""k\#($0)":1"# }.joined(separator: ",") + #","id":"evt_hostile_keys"}"#)
        webhook("900 KB order id", Wire.webhookBody(id: "evt_hostile_longstring", orderID: "\"" + String(repeating: "o", count: 900_000) + "\""))
        webhook("empty body", "", expect: [400])
        // Valid JSON without the envelope: kept as an unmapped event or refused, either is fine.
        webhook("JSON null", "null")
        webhook("a JSON string", #""evt""#)
        webhook("truncated JSON", String(valid.dropLast(10)), expect: [400])

        // Body limits: declared, chunked, Expect: 100-continue.
        cases.append(Case("Content-Length one byte over the limit", Wire.webhook([UInt8](repeating: 0x20, count: 1_048_577)), expect: [413], code: "body_too_large"))
        cases.append(Case("Content-Length over the limit, body never sent",
                          Wire.make("POST", "/juspay/webhook", headers: [("Authorization", JuspayWebhook.authorization), ("Content-Type", "application/json"), ("Content-Length", "5000000")]),
                          expect: [413], code: "body_too_large"))
        cases.append(Case("Expect: 100-continue over the limit",
                          Wire.make("POST", "/juspay/webhook", headers: [("Authorization", JuspayWebhook.authorization), ("Content-Type", "application/json"),
                                                                         ("Content-Length", "5000000"), ("Expect", "100-continue")]),
                          expect: [413], code: "body_too_large"))
        let piece = [UInt8](repeating: 0x20, count: 64 << 10)
        cases.append(Case("chunked body of 2 MiB over the limit",
                          steps: [.send(Wire.chunkedWebhookHead())] + (0..<32).map { _ in .send(Wire.chunk(piece)) } + [.send(Wire.lastChunk)],
                          expect: [413], code: "body_too_large"))
        cases.append(Case("one chunk declared 2 MiB",
                          steps: [.send(Wire.chunkedWebhookHead() + Array("200000\r\n".utf8))] + (0..<32).map { _ in .send(piece) } + [.send([13, 10] + Wire.lastChunk)],
                          expect: [413], code: "body_too_large"))
        cases.append(Case("chunk size beyond 64 bits", Wire.chunkedWebhookHead() + Array("ffffffffffffffffffffffff\r\nx\r\n0\r\n\r\n".utf8), expect: [400, 413]))
        cases.append(Case("chunk size that is not hex", Wire.chunkedWebhookHead() + Array("zz\r\nx\r\n0\r\n\r\n".utf8), expect: [400]))
        let padded = Array(Wire.webhookBody(id: "evt_hostile_onebyte").utf8) + [UInt8](repeating: 0x20, count: 20_000)
        cases.append(Case("valid webhook in 20,000 one-byte chunks",
                          Wire.chunkedWebhookHead() + padded.flatMap { Wire.chunk([$0]) } + Wire.lastChunk, expect: [200]))
        cases.append(Case("body shorter than its Content-Length, then silence",
                          Wire.make("POST", "/juspay/webhook", headers: [("Authorization", JuspayWebhook.authorization), ("Content-Type", "application/json"), ("Content-Length", "100")])
                            + Array("{\"id\":".utf8),
                          expect: [408], code: "request_timeout"))

        // Content types on the JSON route.
        webhook("text/plain", valid, expect: [415], code: "unsupported_media_type", contentType: "text/plain")
        webhook("multipart/form-data", valid, expect: [415], code: "unsupported_media_type", contentType: "multipart/form-data; boundary=xyz")
        webhook("form content type on a JSON route", valid, expect: [415], code: "unsupported_media_type", contentType: "application/x-www-form-urlencoded")
        webhook("application/jsonp", valid, expect: [415], code: "unsupported_media_type", contentType: "application/jsonp")
        webhook("no content type", Wire.webhookBody(id: "evt_hostile_noct"), contentType: nil)
        webhook("JSON with a charset", Wire.webhookBody(id: "evt_hostile_charset"), expect: [200], contentType: "application/json; charset=utf-8")
        webhook("upper-case JSON content type", Wire.webhookBody(id: "evt_hostile_upper"), contentType: "APPLICATION/JSON")
        webhook("10 KB content type", Wire.webhookBody(id: "evt_hostile_longct"), contentType: "application/json; x=" + String(repeating: "y", count: 10_000))
        cases.append(Case("JSON body on a form return route",
                          Wire.make("POST", "/luxfin/return", headers: [("Content-Type", "application/json")], body: Array(#"{"order_id":"o","status":"success"}"#.utf8)),
                          landing: true))
        cases.append(Case("wrong Basic credentials",
                          Wire.make("POST", "/juspay/webhook", headers: [("Authorization", "Basic " + Data("merchant_hooks:wrong".utf8).base64EncodedString()), ("Content-Type", "application/json")],
                                    body: Array(valid.utf8)),
                          expect: [401], code: "verification_failed"))
        cases.append(Case("no credentials", Wire.make("POST", "/juspay/webhook", headers: [("Content-Type", "application/json")], body: Array(valid.utf8)),
                          expect: [401], code: "verification_failed"))
        let nonstopayBody = #"{"id":"nsp_hostile_1","invoice_id":"inv_1","order_id":"ord\r\nSet-Cookie: x=1","status":"invoice:paid","amount":"10.00","devise":"EUR"}"#
        cases.append(Case("NonStoPay callback with a bad signature",
                          Wire.make("POST", "/nonstopay/callback", headers: [("Content-Type", "application/json"), ("X-Signature", String(repeating: "0", count: 64))], body: Array(nonstopayBody.utf8)),
                          expect: [401], code: "verification_failed"))
        let signature = ByteEncoding.hex(HMAC.authenticate(.sha256, key: Array("nsp_live_key_abc".utf8), message: Array(nonstopayBody.utf8)))
        cases.append(Case("signed NonStoPay callback with CR/LF in the order id",
                          Wire.make("POST", "/nonstopay/callback", headers: [("Content-Type", "application/json"), ("X-Signature", signature)], body: Array(nonstopayBody.utf8)),
                          expect: [200]))

        // Browser returns: hostile order ids must not move the Location off the landing page.
        let orderIDs = ["..", ".", "%2e%2e", ".%2E", "../../../evil", "ord/..", "ord/../../x", "https://evil.example/", "//evil.example/x", "\\\\evil.example",
                        "/\\evil.example", "@evil.example", "a?result=succeeded#x", "ord\r\nSet-Cookie: injected=1", "ord\r\n\r\n<html>", "ord%0d%0aX-Injected:%201",
                        "\u{0}", "javascript:alert(1)", " ", "", "\u{202E}drø✓", String(repeating: "o", count: 4_000)]
        for id in orderIDs {
            let shown = id.count > 40 ? "\(id.count) characters" : id.debugDescription
            cases.append(Case("luxfin return, order id \(shown)", Wire.make("GET", "/luxfin/return?order_id=\(Wire.encode(id))&status=success"), expect: [303], landing: true))
        }
        for id in ["..", "ord\r\nSet-Cookie: injected=1", "//evil.example"] {
            cases.append(Case("juspay return with a bad signature, order id \(id.debugDescription)",
                              Wire.make("GET", "/juspay/return?order_id=\(Wire.encode(id))&status=CHARGED&status_id=21&signature=bad&signature_algorithm=HMAC-SHA256"),
                              expect: [303], landing: true))
            cases.append(Case("nonstopay return, order id \(id.debugDescription)",
                              Wire.make("GET", "/nonstopay/return/success?order_id=\(Wire.encode(id))&invoice_id=inv_\(Wire.encode(id))"), expect: [303], landing: true))
            cases.append(Case("luxfin return as a form POST, order id \(id.debugDescription)",
                              Wire.make("POST", "/luxfin/return", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                        body: Array("order_id=\(Wire.encode(id))&status=failed".utf8)),
                              expect: [303], landing: true))
        }
        return cases
    }

    // MARK: - Running a case

    /// Sends the steps (in 64 KiB pieces, stopping once the server answered or
    /// closed) and waits at most `timeout` for the answer.
    static func run(_ hostile: Case, port: Int, timeout: Duration = .seconds(15)) async -> Outcome {
        let started = ContinuousClock.now
        let connection: RawHTTPConnection
        do {
            connection = try await RawHTTPConnection.connect(port: port)
        } catch {
            return Outcome(response: nil, responses: [], ending: .failed("connect: \(error)"), elapsed: .zero)
        }
        sending: for step in hostile.steps {
            switch step {
            case .pause(let duration):
                try? await Task.sleep(for: duration)
            case .send(let bytes):
                var offset = 0
                while offset < bytes.count {
                    if connection.finalResponse != nil || !connection.isOpen { break sending }
                    let end = min(bytes.count, offset + (64 << 10))
                    do { try await connection.send(Array(bytes[offset..<end])) } catch { break sending }
                    offset = end
                }
            }
        }
        let deadline = ContinuousClock.now + timeout
        var response = await connection.waitForResponse(timeout: timeout)
        // Pipelined requests: wait for the rest of the answers too.
        while response != nil, connection.responses.filter({ $0.status >= 200 }).count < hostile.responses, connection.isOpen, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
            response = connection.finalResponse
        }
        let outcome = Outcome(response: response, responses: connection.responses.filter { $0.status >= 200 }, ending: connection.ending, elapsed: .now - started)
        await connection.close()
        return outcome
    }

    /// Everything wrong with `outcome` for `hostile`; empty when it is acceptable.
    static func problems(_ hostile: Case, _ outcome: Outcome) -> [String] {
        guard let response = outcome.response else {
            return ["no answer after \(outcome.elapsed): connection \(outcome.ending)"]
        }
        var problems: [String] = []
        let status = response.status
        if let expected = hostile.expected, !expected.contains(status) {
            problems.append("status \(status) instead of \(expected.sorted()) (body \(response.bodyText.prefix(160).debugDescription))")
        }
        switch status {
        case 200..<300:
            break
        case 303 where hostile.landing:
            if let problem = LandingCheck.problem(response.header("location"), host: landingHost) { problems.append(problem) }
            if response.headers("location").count != 1 { problems.append("\(response.headers("location").count) Location headers") }
            let injected = response.headers.filter { ["set-cookie", "x-injected"].contains($0.name.lowercased()) }
            if !injected.isEmpty { problems.append("header injected: \(injected)") }
        case 400..<500:
            if let problem = errorBodyProblem(response, code: hostile.code) { problems.append(problem) }
        default:
            problems.append("status \(status) is neither 2xx nor 4xx\(hostile.landing ? " nor 303" : "") (body \(response.bodyText.prefix(160).debugDescription))")
        }
        if outcome.responses.count < hostile.responses {
            problems.append("\(outcome.responses.count) of \(hostile.responses) pipelined requests answered")
        }
        return problems
    }

    /// The event id of an acked webhook answer.
    static func ackedEventID(_ response: RawHTTPResponse?) -> String? {
        guard let response, response.status == 200, let body = try? JSONParser().parse(response.body) else { return nil }
        return body["event_id"]?.stringValue
    }

    // MARK: - Tests

    @Test func hostileRequestsGetA4xxJSONOrA2xxAndTheProcessSurvives() async throws {
        let server = try await LiveServer(config: Self.config(), environment: Self.environment)
        let started = ContinuousClock.now
        var statuses: [String: Int] = [:]
        var failed: [String] = []
        var acked: [String] = []
        let corpus = Self.corpus
        for hostile in corpus {
            let outcome = await Self.run(hostile, port: server.port)
            statuses[outcome.label, default: 0] += 1
            var problems = Self.problems(hostile, outcome)
            if let health = await server.healthProblem() { problems.append("afterwards: \(health)") }
            if let id = Self.ackedEventID(outcome.response) {
                acked.append(id)
                // The event just acked is readable, whatever its dates and strings.
                let (response, problem) = await server.admin("/admin/v1/events/\(id)")
                if response?.status != 200 || (try? JSONParser().parse(response?.body ?? [])) == nil {
                    problems.append("acked \(id) but GET /admin/v1/events/\(id) answered \(response.map { "\($0.status) \($0.bodyText.prefix(160))" } ?? problem ?? "nothing")")
                }
            }
            if try await server.restartIfDead() {
                problems.append("the process died; restarted. Its last output:\n\(server.crashes.last?.suffix(1500) ?? "")")
            }
            let location = outcome.response?.header("location").map { " → \($0.prefix(90).debugDescription)" } ?? ""
            print("hostile input: \(hostile.name): \(outcome.label)\(location) in \(outcome.elapsed)")
            if !problems.isEmpty {
                failed.append(hostile.name)
                Issue.record("\(hostile.name): \(problems.joined(separator: "; "))")
            }
        }

        // Nothing acked was lost, and the log stays readable by the CLI and the admin API.
        let listed = try loggedEventIDs(directory: server.directory, environment: server.environment) ?? []
        let missing = Set(acked).subtracting(listed)
        #expect(missing.isEmpty, "acked but not in the log: \(missing.sorted())")
        #expect(await server.adminJSON("/admin/v1/events?limit=500") != nil)
        let exit = try await server.stop()
        #expect(exit == 0, "serve did not stop cleanly")
        let summary = statuses.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", ")
        print("hostile input corpus: \(corpus.count) cases in \(ContinuousClock.now - started), statuses \(summary); \(acked.count) acked, \(missing.count) lost; \(server.crashes.count) crashes; \(failed.count) failed: \(failed.joined(separator: " | "))")
    }

    /// Slow clients (a byte every few seconds) are cut off by the head, body
    /// and idle timeouts, with a 408 JSON answer where a request had begun,
    /// and 100 of them open at once do not starve normal requests.
    @Test func slowClientsAreCutOffAndDoNotStarveOthers() async throws {
        let server = try await LiveServer(config: Self.config(maxConnections: 16), environment: Self.environment)
        let started = ContinuousClock.now
        let port = server.port
        let slack: Duration = .milliseconds(2500)
        let head = Array("POST /juspay/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \(JuspayWebhook.authorization)\r\nContent-Type: application/json\r\n".utf8)

        /// Sends `bytes` one at a time every `interval` until the server ends the
        /// connection or `limit` passes; returns the connection.
        @Sendable func drip(_ bytes: [UInt8], every interval: Duration, after prelude: [UInt8] = [], for limit: Duration) async throws -> RawHTTPConnection {
            let connection = try await RawHTTPConnection.connect(port: port)
            let giveUp = ContinuousClock.now + limit
            if !prelude.isEmpty { try await connection.send(prelude) }
            for byte in bytes {
                guard connection.isOpen, ContinuousClock.now < giveUp else { break }
                do { try await connection.send([byte]) } catch { break }
                // Sleep in short steps so the end of the connection is seen at once.
                let wake = ContinuousClock.now + interval
                while connection.isOpen, ContinuousClock.now < wake { try await Task.sleep(for: .milliseconds(20)) }
            }
            _ = await connection.waitUntilEnded(timeout: .seconds(1))
            return connection
        }

        func check(_ name: String, _ connection: RawHTTPConnection, within bound: Duration, from start: ContinuousClock.Instant, answer: Bool) async {
            let ended = connection.endedAt.map { $0 - start }
            var problems: [String] = []
            if let ended {
                if ended > bound { problems.append("closed only after \(ended), bound \(bound)") }
            } else {
                problems.append("still open after \(ContinuousClock.now - start) (bound \(bound))")
            }
            if answer {
                if let response = connection.finalResponse {
                    if response.status != 408 { problems.append("answered \(response.status) instead of 408") }
                    if let problem = errorBodyProblem(response, code: "request_timeout") { problems.append(problem) }
                } else {
                    problems.append("closed without the 408 JSON answer (\(connection.ending))")
                }
            }
            if let health = await server.healthProblem() { problems.append("afterwards: \(health)") }
            print("slow client: \(name): \(connection.finalResponse.map { String($0.status) } ?? "no answer"), \(connection.ending) after \(ended.map { "\($0)" } ?? "-")")
            if !problems.isEmpty { Issue.record("\(name): \(problems.joined(separator: "; "))") }
            await connection.close()
        }

        // 1. A request head dripped a byte every 200 ms: header_timeout (1 s).
        var start = ContinuousClock.now
        var connection = try await drip(head + Array("X-Pad: ".utf8) + [UInt8](repeating: 0x61, count: 60), every: .milliseconds(200), for: .seconds(8))
        await check("head dripped every 200 ms", connection, within: .seconds(1) + slack, from: start, answer: true)

        // 2. The issue's case: a byte every 5 s was held forever.
        start = ContinuousClock.now
        connection = try await drip(Array(head.prefix(3)), every: .seconds(5), for: .seconds(9))
        await check("head dripped every 5 s", connection, within: .seconds(1) + slack, from: start, answer: true)

        // 3. A complete head, then the body a byte every 300 ms: body_timeout (2 s).
        start = ContinuousClock.now
        connection = try await drip(Array(String(repeating: " ", count: 40).utf8), every: .milliseconds(300), after: head + Array("Content-Length: 200\r\n\r\n".utf8), for: .seconds(8))
        await check("body dripped every 300 ms", connection, within: .seconds(2) + slack, from: start, answer: true)

        // 4. A keep-alive connection left idle after one answer: idle_timeout (3 s).
        connection = try await RawHTTPConnection.connect(port: port)
        try await connection.send(Wire.make("GET", "/healthz", close: false))
        let first = await connection.waitForResponse(timeout: .seconds(5))
        #expect(first?.status == 200, "idle case: /healthz answered \(first?.status ?? 0)")
        start = ContinuousClock.now
        _ = await connection.waitUntilEnded(timeout: .seconds(3) + slack + .seconds(1))
        await check("idle keep-alive connection", connection, within: .seconds(3) + slack, from: start, answer: false)

        // 5. A connection that never sends a byte.
        start = ContinuousClock.now
        connection = try await RawHTTPConnection.connect(port: port)
        _ = await connection.waitUntilEnded(timeout: .seconds(3) + slack + .seconds(1))
        await check("silent connection", connection, within: .seconds(3) + slack, from: start, answer: false)

        // 6. 100 slow connections with max_connections 16: normal requests still succeed.
        let slowCount = 100
        let floodStart = ContinuousClock.now
        let flood = Task {
            try await withThrowingTaskGroup(of: RawHTTPConnection.self) { group in
                for _ in 0..<slowCount {
                    group.addTask { try await drip(head, every: .milliseconds(500), for: .seconds(25)) }
                }
                var connections: [RawHTTPConnection] = []
                for try await connection in group { connections.append(connection) }
                return connections
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        var latencies: [Duration] = []
        var acked: [String] = []
        for i in 0..<6 {
            let requestStart = ContinuousClock.now
            let bytes = i % 2 == 0 ? Wire.make("GET", "/healthz") : Wire.webhook(Wire.webhookBody(id: "evt_hostile_flood_\(i)"))
            let (response, problem) = await server.exchange(bytes, timeout: .seconds(30))
            latencies.append(.now - requestStart)
            if let id = Self.ackedEventID(response) { acked.append(id) }
            #expect(response?.status == 200, "normal request \(i) during the flood: \(problem ?? "status \(response?.status ?? 0)")")
        }
        let slow = try await flood.value
        let floodEnded = ContinuousClock.now - floodStart
        let stillOpen = slow.filter(\.isOpen).count
        let answered408 = slow.filter { $0.finalResponse?.status == 408 }.count
        #expect(stillOpen == 0, "\(stillOpen) of \(slowCount) slow connections were never closed")
        #expect(answered408 == slowCount, "\(slowCount - answered408) slow connections closed without a 408 JSON answer")
        for connection in slow { await connection.close() }
        #expect(await server.healthProblem() == nil)
        for id in acked { #expect(await server.adminJSON("/admin/v1/events/\(id)") != nil) }
        #expect(try await server.stop() == 0)
        print("slow clients: \(slowCount) dripping connections (max_connections 16) all closed after \(floodEnded), \(answered408) with 408; normal requests answered in \(latencies.map { "\($0)" }.joined(separator: ", ")); test took \(ContinuousClock.now - started)")
    }
}

extension Array where Element == UInt8 {
    /// The same request with its target replaced (for query strings on builders that take none).
    func replacingTarget(_ target: String, with replacement: String) -> [UInt8] {
        let text = String(decoding: self, as: UTF8.self)
        guard let range = text.range(of: " \(target) ") else { return self }
        return Array(text.replacingCharacters(in: range, with: " \(replacement) ").utf8)
    }
}
