import CallbridgeTransport
import Synchronization
import Testing

/// Real libcurl against real HTTP sinks on ephemeral loopback ports.
/// Serialized: several tests assert on timing and thread counts.
@Suite(.serialized)
struct CurlTransportTests {
    private static func ok(_ body: String = "ok") -> @Sendable (HTTPSink.ReceivedRequest) -> HTTPSink.Reply? {
        { _ in HTTPSink.Reply(status: 200, headers: [("Content-Type", "text/plain")], body: Array(body.utf8)) }
    }

    private static let hang: @Sendable (HTTPSink.ReceivedRequest) -> HTTPSink.Reply? = { _ in nil }

    /// Waits (bounded) until `condition` holds.
    private static func eventually(within limit: Duration = .seconds(5), _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func postDeliversMethodPathHeadersAndBodyAndReturnsTheResponse() async throws {
        let sink = try await HTTPSink.start { _ in
            HTTPSink.Reply(status: 201, headers: [("X-Receipt", "rcpt_42"), ("Content-Type", "application/json")], body: Array(#"{"accepted":true}"#.utf8))
        }
        let transport = try CurlTransport()
        let payload = Array(#"{"type":"payment.succeeded","id":"evt_1","amount":{"value":"12.50","currency":"EUR"}}"#.utf8)
        let response = try await transport.send(TransportRequest(
            url: sink.url + "/hooks/orders?tenant=acme",
            headers: [
                ("Content-Type", "application/json"),
                ("webhook-id", "msg_2Lh9"),
                ("webhook-signature", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="),
                ("X-Empty", ""),
            ],
            body: payload
        ))

        #expect(response.status == 201)
        #expect(response.body == Array(#"{"accepted":true}"#.utf8))
        #expect(response.header("X-Receipt") == "rcpt_42")
        #expect(response.headers.contains { $0.0 == "x-receipt" && $0.1 == "rcpt_42" })
        #expect(response.headers.allSatisfy { $0.0 == $0.0.lowercased() })
        #expect(response.httpVersion == .http1_1)
        #expect(!response.bodyTruncated)
        #expect(response.duration > .zero)

        let received = try #require(sink.requests.first)
        #expect(sink.requestCount == 1)
        #expect(received.method == "POST")
        #expect(received.uri == "/hooks/orders?tenant=acme")
        #expect(received.body == payload)
        #expect(received.header("Content-Type") == ["application/json"])
        #expect(received.header("webhook-id") == ["msg_2Lh9"])
        #expect(received.header("webhook-signature") == ["v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="])
        #expect(received.header("X-Empty") == [""])
        #expect(received.header("Content-Length") == [String(payload.count)])
        #expect(received.header("User-Agent") == ["Callbridge/0.1.0"])
        #expect(received.header("Expect").isEmpty)
        await transport.shutdown()
        await sink.stop()
    }

    @Test func getSendsNoBodyAndNoContentType() async throws {
        let sink = try await HTTPSink.start(Self.ok("pong"))
        let transport = try CurlTransport(configuration: .init(userAgent: "Callbridge-test/1"))
        let response = try await transport.send(TransportRequest(url: sink.url + "/health", method: "GET"))
        #expect(response.status == 200)
        #expect(response.body == Array("pong".utf8))
        let received = try #require(sink.requests.first)
        #expect(received.method == "GET")
        #expect(received.body.isEmpty)
        #expect(received.header("Content-Type").isEmpty)
        #expect(received.header("User-Agent") == ["Callbridge-test/1"])
        await transport.shutdown()
        await sink.stop()
    }

    @Test(arguments: [500, 410, 404, 429])
    func errorStatusesAreResponsesNotErrors(status: Int) async throws {
        let sink = try await HTTPSink.start { _ in
            HTTPSink.Reply(status: status, headers: [("Retry-After", "120")], body: Array("nope".utf8))
        }
        let transport = try CurlTransport()
        let response = try await transport.send(TransportRequest(url: sink.url + "/hook", body: [1, 2, 3]))
        #expect(response.status == status)
        #expect(response.body == Array("nope".utf8))
        #expect(response.header("retry-after") == "120")
        await transport.shutdown()
        await sink.stop()
    }

    @Test func redirectIsReturnedAndNotFollowed() async throws {
        let target = try await HTTPSink.start(Self.ok())
        let redirecting = try await HTTPSink.start { _ in
            HTTPSink.Reply(status: 302, headers: [("Location", target.url + "/stolen")])
        }
        let transport = try CurlTransport()
        let response = try await transport.send(TransportRequest(url: redirecting.url + "/hook", body: Array("{}".utf8)))
        #expect(response.status == 302)
        #expect(response.header("location") == target.url + "/stolen")
        #expect(redirecting.requestCount == 1)
        try await Task.sleep(for: .milliseconds(100))
        #expect(target.requestCount == 0)
        #expect(target.connectionCount == 0)
        await transport.shutdown()
        await redirecting.stop()
        await target.stop()
    }

    @Test func bodyLongerThanTheLimitIsTruncatedAndTheRequestSucceeds() async throws {
        let large = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let sink = try await HTTPSink.start { _ in HTTPSink.Reply(status: 200, body: large) }
        let transport = try CurlTransport()

        let defaultLimit = try await transport.send(TransportRequest(url: sink.url))
        #expect(defaultLimit.status == 200)
        #expect(defaultLimit.body == Array(large.prefix(4096)))
        #expect(defaultLimit.bodyTruncated)

        let small = try await transport.send(TransportRequest(url: sink.url, maxResponseBytes: 10))
        #expect(small.body == Array(large.prefix(10)))

        let none = try await transport.send(TransportRequest(url: sink.url, maxResponseBytes: 0))
        #expect(none.status == 200)
        #expect(none.body.isEmpty)

        // The discarded rest was consumed: the connection stayed usable.
        #expect(sink.connectionCount == 1)
        await transport.shutdown()
        await sink.stop()
    }

    @Test func hangingSinkTimesOutWithinTheConfiguredTimeout() async throws {
        let sink = try await HTTPSink.start(Self.hang)
        let transport = try CurlTransport()
        let timeout = Duration.milliseconds(500)
        let started = ContinuousClock.now
        await #expect(throws: TransportError.timeout) {
            _ = try await transport.send(TransportRequest(url: sink.url + "/slow", timeout: timeout))
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= timeout)
        #expect(elapsed < timeout * 5)
        // The request reached the sink: the timeout struck while waiting for
        // the answer, not while connecting. On a loaded machine the sink may
        // parse the request only after curl gave up, so wait for it.
        #expect(try await Self.eventually { sink.requestCount == 1 })
        await transport.shutdown()
        await sink.stop()
    }

    @Test func closedPortIsAConnectionFailure() async throws {
        let port = try await HTTPSink.closedPort()
        let transport = try CurlTransport()
        do {
            _ = try await transport.send(TransportRequest(url: "http://127.0.0.1:\(port)/hook", timeout: .seconds(5)))
            Issue.record("expected a connection failure")
        } catch {
            guard case .connectionFailed(let message) = error else {
                Issue.record("expected .connectionFailed, got \(error)")
                return
            }
            #expect(!message.isEmpty)
        }
        await transport.shutdown()
    }

    @Test func twoHundredConcurrentRequestsAllComplete() async throws {
        let sink = try await HTTPSink.start { request in
            HTTPSink.Reply(status: 200, body: request.body)
        }
        let transport = try CurlTransport()
        let statuses = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let body = Array("delivery-\(index)".utf8)
                    let response = try await transport.send(TransportRequest(url: sink.url + "/hook/\(index)", body: body))
                    return (response.status, response.body == body)
                }
            }
            var collected: [(Int, Bool)] = []
            for try await result in group { collected.append(result) }
            return collected
        }
        #expect(statuses.count == 200)
        #expect(statuses.allSatisfy { $0.0 == 200 && $0.1 })
        #expect(sink.requestCount == 200)
        #expect(sink.connectionCount <= transport.configuration.maxHostConnections)
        await transport.shutdown()
        await sink.stop()
    }

    @Test func sequentialRequestsReuseOneConnection() async throws {
        let sink = try await HTTPSink.start(Self.ok())
        let transport = try CurlTransport()
        for index in 0..<50 {
            let response = try await transport.send(TransportRequest(url: sink.url + "/hook", body: Array("n=\(index)".utf8)))
            #expect(response.status == 200)
        }
        #expect(sink.requestCount == 50)
        #expect(sink.connectionCount <= 2)
        await transport.shutdown()
        await sink.stop()
    }

    @Test func hangingEndpointDoesNotDelayAHealthyOne() async throws {
        let hanging = try await HTTPSink.start(Self.hang)
        let healthy = try await HTTPSink.start(Self.ok())
        let transport = try CurlTransport()
        let hangingDone = Flag()
        let stuck = Task {
            defer { hangingDone.set() }
            return try await transport.send(TransportRequest(url: hanging.url + "/stuck", timeout: .seconds(20)))
        }
        #expect(try await Self.eventually { hanging.requestCount == 1 })

        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<20 {
                group.addTask { try await transport.send(TransportRequest(url: healthy.url + "/ok")).status }
            }
            for try await status in group { #expect(status == 200) }
        }
        let elapsed = ContinuousClock.now - started
        #expect(healthy.requestCount == 20)
        #expect(!hangingDone.isSet)
        #expect(elapsed < .seconds(5))

        stuck.cancel()
        await #expect(throws: TransportError.cancelled) { _ = try await stuck.value }
        await transport.shutdown()
        await hanging.stop()
        await healthy.stop()
    }

    @Test func cancellingTheTaskResumesPromptlyWithAnError() async throws {
        let sink = try await HTTPSink.start(Self.hang)
        let transport = try CurlTransport()
        let inFlight = Task {
            try await transport.send(TransportRequest(url: sink.url + "/stuck", timeout: .seconds(30)))
        }
        #expect(try await Self.eventually { sink.requestCount == 1 })
        let started = ContinuousClock.now
        inFlight.cancel()
        await #expect(throws: TransportError.cancelled) { _ = try await inFlight.value }
        #expect(ContinuousClock.now - started < .seconds(1))

        // The transport keeps working after a cancellation.
        let healthy = try await HTTPSink.start(Self.ok())
        #expect(try await transport.send(TransportRequest(url: healthy.url)).status == 200)
        await transport.shutdown()
        await sink.stop()
        await healthy.stop()
    }

    @Test func alreadyCancelledTaskNeverSendsTheRequest() async throws {
        let sink = try await HTTPSink.start(Self.ok())
        let transport = try CurlTransport()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await transport.send(TransportRequest(url: sink.url))
        }
        await #expect(throws: TransportError.cancelled) { _ = try await task.value }
        try await Task.sleep(for: .milliseconds(100))
        #expect(sink.requestCount == 0)
        await transport.shutdown()
        await sink.stop()
    }

    @Test func shutdownFailsInFlightRequestsAndReturns() async throws {
        let sink = try await HTTPSink.start(Self.hang)
        let transport = try CurlTransport()
        let inFlight = Task {
            try await transport.send(TransportRequest(url: sink.url + "/stuck", timeout: .seconds(30)))
        }
        #expect(try await Self.eventually { sink.requestCount == 1 })
        let started = ContinuousClock.now
        await transport.shutdown()
        await #expect(throws: TransportError.shutDown) { _ = try await inFlight.value }
        #expect(ContinuousClock.now - started < .seconds(2))

        await #expect(throws: TransportError.shutDown) {
            _ = try await transport.send(TransportRequest(url: sink.url))
        }
        await transport.shutdown()  // idempotent
        await sink.stop()
    }

    @Test func invalidRequestsAreRejectedBeforeTheNetwork() async throws {
        let sink = try await HTTPSink.start(Self.ok())
        let transport = try CurlTransport()
        let invalid: [TransportRequest] = [
            TransportRequest(url: sink.url, headers: [("X-Injected", "a\r\nX-Evil: 1")]),
            TransportRequest(url: sink.url, headers: [("Bad Name", "x")]),
            TransportRequest(url: sink.url, method: "PO ST"),
            TransportRequest(url: sink.url, method: "GET", body: [1]),
            TransportRequest(url: sink.url, timeout: .zero),
            TransportRequest(url: "file:///etc/passwd"),
            TransportRequest(url: "not a url"),
        ]
        for request in invalid {
            do {
                _ = try await transport.send(request)
                Issue.record("expected \(request.url) \(request.method) to be rejected")
            } catch {
                guard case .invalidRequest = error else {
                    Issue.record("expected .invalidRequest, got \(error)")
                    continue
                }
            }
        }
        #expect(sink.requestCount == 0)
        await transport.shutdown()
        await sink.stop()
    }

    @Test func proxyReceivesTheAbsoluteURIRequest() async throws {
        let proxy = try await HTTPSink.start(Self.ok("via proxy"))
        let transport = try CurlTransport()
        let response = try await transport.send(TransportRequest(
            url: "http://merchant.invalid/hooks/payments",
            headers: [("Content-Type", "application/json")],
            body: Array("{}".utf8),
            proxy: proxy.url
        ))
        #expect(response.status == 200)
        #expect(response.body == Array("via proxy".utf8))
        let received = try #require(proxy.requests.first)
        #expect(received.uri == "http://merchant.invalid/hooks/payments")
        #expect(received.header("Host") == ["merchant.invalid"])
        await transport.shutdown()
        await proxy.stop()
    }

    @Test func httpsToAPlainHTTPEndpointIsATLSFailure() async throws {
        let sink = try await HTTPSink.start(Self.ok())
        let transport = try CurlTransport()
        do {
            _ = try await transport.send(TransportRequest(url: "https://127.0.0.1:\(sink.port)/hook", timeout: .seconds(5)))
            Issue.record("expected a TLS failure")
        } catch {
            guard case .tls(let message) = error else {
                Issue.record("expected .tls, got \(error)")
                return
            }
            #expect(!message.isEmpty)
        }
        await transport.shutdown()
        await sink.stop()
    }

    @Test func invalidConfigurationIsRejected() {
        #expect(throws: TransportError.self) {
            _ = try CurlTransport(configuration: .init(maxHostConnections: -1))
        }
        #expect(throws: TransportError.self) {
            _ = try CurlTransport(configuration: .init(userAgent: "Callbridge\r\nX-Evil: 1"))
        }
    }

    @Test func droppingATransportStopsItsThread() async throws {
        // A thread name of this test's own: other suites' transports come and go in parallel.
        let name = "cb-curl-dropped"
        #expect(try await Self.eventually { CurlThreads.count(named: name) == 0 })
        do {
            let transports = try (0..<4).map { _ in try CurlTransport(configuration: .init(threadName: name)) }
            #expect(try await Self.eventually { CurlThreads.count(named: name) == transports.count })
        }
        #expect(try await Self.eventually { CurlThreads.count(named: name) == 0 })
    }
}
