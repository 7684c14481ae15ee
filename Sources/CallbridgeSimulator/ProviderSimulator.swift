import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import CallbridgeTransport

/// One HTTP request as a provider (or the buyer's browser, for a return)
/// would send it to Callbridge, relative to the server's base URL.
public struct SimulatedRequest: Sendable {
    /// `GET` or `POST`.
    public var method: String
    /// The request path, e.g. `/nonstopay/return/success`.
    public var path: String
    /// The encoded query string without `?`; empty for none.
    public var query: String
    /// Request headers in the order sent (may hold credentials: never print values).
    public var headers: [(String, String)]
    /// The raw body; empty for `GET`.
    public var body: [UInt8]

    /// Creates a request description.
    public init(method: String, path: String, query: String = "", headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// Path and query, as in an HTTP request line.
    public var target: String { query.isEmpty ? path : path + "?" + query }

    /// The request for `CurlTransport`, sent to `baseURL` (`http://host:port`,
    /// optionally with a path prefix).
    public func transportRequest(baseURL: String, timeout: Duration = .seconds(30)) -> TransportRequest {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return TransportRequest(url: base + target, method: method, headers: headers, body: body, timeout: timeout)
    }

    /// The request as the server sees it (for checking it against a handler
    /// route without a network).
    public func rawRequest(receivedAt: Timestamp) -> RawRequest {
        RawRequest(
            method: method, path: path, query: query, headers: headers.map { HeaderField(name: $0.0, value: $0.1) },
            body: body, remoteAddress: "127.0.0.1", receivedAt: receivedAt
        )
    }
}

/// The event the server is expected to record for a simulated request.
public struct ExpectedEvent: Sendable, Hashable {
    /// The mapped event type, e.g. `payment.succeeded`.
    public var type: EventType
    /// The provider name, e.g. `juspay`.
    public var provider: String
    /// The handler route name, e.g. `webhook`.
    public var route: String
    /// Callback or redirect.
    public var channel: Channel
    /// Whether the route proves authenticity (false for unsigned returns).
    public var verified: Bool
    /// The order id sent.
    public var orderID: String
}

/// A complete simulated provider request and what it should produce.
public struct Simulation: Sendable {
    /// The provider impersonated.
    public var provider: SimulatedProvider
    /// The outcome reported.
    public var scenario: SimulationScenario
    /// The channel used.
    public var channel: Channel
    /// The HTTP request to send.
    public var request: SimulatedRequest
    /// The event Callbridge should record for it.
    public var expected: ExpectedEvent
}

/// Why a simulation cannot be built. Descriptions never contain secret values.
public enum SimulationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The provider sends nothing for this scenario on this channel.
    case unsupportedScenario(SimulatedProvider, SimulationScenario, Channel?)
    /// The provider has no route on this channel.
    case unsupportedChannel(SimulatedProvider, Channel)
    /// The handler folder has no route for it.
    case routeMissing(provider: String, route: String)
    /// A secret the route's verifier needs did not resolve (`${NAME}` or `file:PATH`).
    case missingSecret(route: String, reference: String)
    /// The route's verifier is not the one the provider's signing needs.
    case unexpectedVerifier(route: String, expected: String)

    public var description: String {
        switch self {
        case .unsupportedScenario(let provider, let scenario, let channel):
            let supported = provider.channels.map { "\($0.rawValue): \(provider.scenarios(on: $0).map(\.rawValue).joined(separator: ", "))" }
            let on = channel.map { " on the \($0.rawValue) channel" } ?? ""
            return "\(provider) has no '\(scenario)' scenario\(on) (supported: \(supported.joined(separator: "; ")))"
        case .unsupportedChannel(let provider, let channel):
            return "\(provider) sends no \(channel.rawValue) requests (channels: \(provider.channels.map(\.rawValue).joined(separator: ", ")))"
        case .routeMissing(let provider, let route):
            return "the handlers folder has no route \(provider)/\(route)"
        case .missingSecret(let route, let reference):
            if case .environment(let name)? = SecretReference(reference) {
                return "\(name) is not set: \(route) needs it to sign the request the way the server verifies it"
            }
            return "\(reference) cannot be read: \(route) needs it to sign the request the way the server verifies it"
        case .unexpectedVerifier(let route, let expected):
            return "\(route) is not verified with \(expected) in its handler file; the simulator cannot sign for it"
        }
    }
}

/// Values that make each simulated request unique, generated per run unless fixed.
public struct SimulationIdentifiers: Sendable, Hashable {
    /// The merchant's order id.
    public var orderID: String
    /// A random lowercase hex string used for the provider's own ids.
    public var token: String

    /// Explicit identifiers (tests, `--order-id`).
    public init(orderID: String, token: String) {
        self.orderID = orderID
        self.token = token
    }

    /// Fresh random identifiers in each provider's id style (Luxfin order ids
    /// are numeric); `orderID` overrides the generated order id.
    public static func random(for provider: SimulatedProvider, orderID: String? = nil) -> SimulationIdentifiers {
        let token = ByteEncoding.hex(SecureRandom.bytes(8))
        if let orderID { return SimulationIdentifiers(orderID: orderID, token: token) }
        switch provider {
        case .juspay: return SimulationIdentifiers(orderID: "ord_sim_" + String(token.prefix(10)), token: token)
        case .luxfin:
            let digits = SecureRandom.bytes(9).map { String($0 % 10) }.joined()
            return SimulationIdentifiers(orderID: "9" + digits, token: token)
        case .nonstopay: return SimulationIdentifiers(orderID: "SIM-" + String(token.prefix(10)).uppercased(), token: token)
        }
    }
}

/// Builds the requests Juspay, Luxfin and NonStoPay send, signed with the
/// secrets the loaded handler files resolve: the same a server with the same
/// environment verifies with.
public struct ProviderSimulator: Sendable {
    /// The loaded handler folder (paths and resolved secrets).
    public var handlers: HandlerSet

    /// A simulator for the routes and secrets of `handlers`.
    public init(handlers: HandlerSet) {
        self.handlers = handlers
    }

    /// The request `provider` sends for `scenario` on `channel` (default:
    /// ``SimulatedProvider/defaultChannel(for:)``), stamped `now`.
    public func simulation(
        provider: SimulatedProvider, scenario: SimulationScenario, channel: Channel? = nil,
        identifiers: SimulationIdentifiers, now: Timestamp
    ) throws(SimulationError) -> Simulation {
        if let channel, provider.routeName(for: channel) == nil { throw .unsupportedChannel(provider, channel) }
        guard let channel = channel ?? provider.defaultChannel(for: scenario),
              let outcome = provider.outcome(of: scenario, on: channel),
              let routeName = provider.routeName(for: channel)
        else { throw .unsupportedScenario(provider, scenario, channel) }
        guard let route = handlers.route(provider: provider.rawValue, name: routeName) else {
            throw .routeMissing(provider: provider.rawValue, route: routeName)
        }
        // Providers stamp whole seconds.
        let now = Timestamp(secondsSinceEpoch: now.secondsSinceEpoch)
        if let reference = route.unresolvedSecrets.first {
            throw .missingSecret(route: route.qualifiedName, reference: reference)
        }
        let request: SimulatedRequest
        switch (provider, channel) {
        case (.juspay, .callback): request = try juspayWebhook(route, outcome, scenario, identifiers, now)
        case (.juspay, .redirect): request = try juspayReturn(route, outcome, identifiers)
        case (.luxfin, .callback): request = try luxfinWebhook(route, outcome, identifiers, now)
        case (.luxfin, .redirect): request = luxfinReturn(route, outcome, identifiers)
        case (.nonstopay, .callback): request = try nonstopayCallback(route, outcome, identifiers, now)
        case (.nonstopay, .redirect): request = nonstopayReturn(route, outcome, identifiers)
        case (_, .statusCheck): throw .routeMissing(provider: provider.rawValue, route: routeName)
        }
        let verified = !route.verifiers.allSatisfy { $0.method == .none }
        return Simulation(
            provider: provider, scenario: scenario, channel: channel, request: request,
            expected: ExpectedEvent(type: outcome.type, provider: provider.rawValue, route: route.name, channel: channel,
                                    verified: verified, orderID: identifiers.orderID)
        )
    }

    // MARK: Juspay

    func juspayWebhook(_ route: Route, _ outcome: ProviderOutcome, _ scenario: SimulationScenario, _ ids: SimulationIdentifiers, _ now: Timestamp) throws(SimulationError) -> SimulatedRequest {
        guard let basic = route.verifiers.lazy.compactMap({ $0 as? BasicAuthVerifier }).first,
              let credential = basic.credentials.first
        else { throw .unexpectedVerifier(route: route.qualifiedName, expected: "basic_auth") }
        let amount = "100.00"
        let txnID = "shopexample-\(ids.orderID)-1"
        let refunded = scenario == .refunded
        var order: [(String, JSONValue)] = [
            ("id", .string("ordeh_" + ids.token)),
            ("merchant_id", .string("shopexample")),
            ("order_id", .string(ids.orderID)),
            ("txn_id", .string(txnID)),
            ("status", .string(outcome.status)),
            ("status_id", .number(outcome.statusID ?? "21")),
            ("amount", .number(amount)),
            ("effective_amount", .number(amount)),
            ("amount_refunded", .number(refunded ? amount : "0")),
            ("refunded", .bool(refunded)),
            ("currency", .string("USD")),
            ("customer_id", .string("cst_sim_" + String(ids.token.prefix(8)))),
            ("customer_email", .string("buyer@example.com")),
            ("return_url", .string("https://shop.example.com/juspay/return")),
            ("udf1", .string("simulated")),
            ("udf2", .string("")),
            ("payment_method_type", .string("CARD")),
            ("payment_method", .string("VISA")),
            ("bank_error_code", .string(scenario == .failed ? "05" : "")),
            ("bank_error_message", .string(scenario == .failed ? "Do not honour" : "")),
            ("date_created", .string(now.adding(milliseconds: -90_000).rfc3339)),
        ]
        if refunded {
            order.append(("refunds", .array([.object([
                ("id", .string("rfd_" + ids.token)),
                ("unique_request_id", .string("refund-" + ids.orderID)),
                ("amount", .number(amount)),
                ("status", .string("SUCCESS")),
                ("created", .string(now.rfc3339)),
            ])])))
        }
        let body = JSONValue.object([
            ("id", .string("evt_V2_sim_" + ids.token)),
            ("date_created", .string(now.rfc3339)),
            ("event_name", .string(outcome.event ?? outcome.status)),
            ("content", .object([("order", .object(order))])),
        ])
        let credentials = ByteEncoding.base64(Array("\(credential.username):\(credential.password)".utf8))
        return SimulatedRequest(
            method: "POST", path: route.pattern.text,
            headers: [("Content-Type", "application/json"), ("Authorization", "Basic " + credentials)],
            body: body.renderedBytes()
        )
    }

    func juspayReturn(_ route: Route, _ outcome: ProviderOutcome, _ ids: SimulationIdentifiers) throws(SimulationError) -> SimulatedRequest {
        guard let verifier = route.verifiers.lazy.compactMap({ $0 as? JuspayReturnVerifier }).first,
              let key = verifier.responseKeys.first
        else { throw .unexpectedVerifier(route: route.qualifiedName, expected: "juspay_return") }
        let params: [(String, String)] = [("order_id", ids.orderID), ("status", outcome.status), ("status_id", outcome.statusID ?? "")]
        let signature = JuspayReturnVerifier.signature(params: params, key: key)
        // Juspay percent-encodes the base64 signature and the browser's query
        // string encodes it again (`%253D` for `=`).
        let encodedSignature = FormURLEncoding.encodeFormComponent(FormURLEncoding.encodeFormComponent(signature))
        let query = FormURLEncoding.render(params) + "&signature=" + encodedSignature + "&signature_algorithm=HMAC-SHA256"
        return SimulatedRequest(method: "GET", path: route.pattern.text, query: query, headers: Self.browserHeaders)
    }

    // MARK: Luxfin

    func luxfinReturn(_ route: Route, _ outcome: ProviderOutcome, _ ids: SimulationIdentifiers) -> SimulatedRequest {
        let params: [(String, String)] = [
            ("order_id", ids.orderID),
            ("transaction_id", "LXF-" + String(ids.token.prefix(8)).uppercased()),
            ("status", outcome.status),
            ("amount", "25.00"),
            ("currency", "USD"),
            ("email", "buyer@example.com"),
            ("custom", #"{"cart":"771","simulated":true}"#),
        ]
        return SimulatedRequest(method: "GET", path: route.pattern.text, query: FormURLEncoding.render(params), headers: Self.browserHeaders)
    }

    /// Luxfin's webhook: `order_id` as a JSON number (as its sample sends it),
    /// upper-case status, amount as a number, no currency.
    func luxfinWebhook(_ route: Route, _ outcome: ProviderOutcome, _ ids: SimulationIdentifiers, _ now: Timestamp) throws(SimulationError) -> SimulatedRequest {
        let orderID: JSONValue = ids.orderID.allSatisfy(\.isNumber) && !ids.orderID.isEmpty ? .number(ids.orderID) : .string(ids.orderID)
        let body = JSONValue.object([
            ("order_id", orderID), ("status", .string(outcome.status)), ("amount", .number("25.00")), ("product", .string("Simulated order")),
        ]).renderedBytes()
        return try signedJSON(route, body: body, now: now)
    }

    // MARK: NonStoPay

    /// NonStoPay's notification in the nested shape of its invoice-info API:
    /// `invoice_id` at the top, the rest under `data`, `datetime` without a zone.
    func nonstopayCallback(_ route: Route, _ outcome: ProviderOutcome, _ ids: SimulationIdentifiers, _ now: Timestamp) throws(SimulationError) -> SimulatedRequest {
        let datetime = String(String(now.rfc3339.prefix(19)).replacingAll("T", with: " "))
        let body = JSONValue.object([
            ("invoice_id", .string(Self.nonstopayInvoice(ids))),
            ("data", .object([
                ("order_id", .string(ids.orderID)),
                ("status", .string(outcome.status)),
                ("amount", .string("49.90")),
                ("devise", .string("EUR")),
                ("email", .string("buyer@example.com")),
                ("datetime", .string(datetime)),
                ("callbackJson", .string(#"{"txId":"sim-\#(ids.token.prefix(10))"}"#)),
            ])),
        ]).renderedBytes()
        return try signedJSON(route, body: body, now: now)
    }

    /// A JSON POST signed the way the route's `hmac` verifier checks it (prefix, encoding, optional signed timestamp).
    func signedJSON(_ route: Route, body: [UInt8], now: Timestamp) throws(SimulationError) -> SimulatedRequest {
        guard let hmac = route.verifiers.lazy.compactMap({ $0 as? HMACVerifier }).first,
              case .header(let header) = hmac.location, let key = hmac.secrets.first
        else { throw .unexpectedVerifier(route: route.qualifiedName, expected: "hmac (header)") }
        let seconds = now.secondsSinceEpoch
        var message: [UInt8] = []
        if hmac.timestampHeader != nil { message += Array("\(seconds).".utf8) }
        message += body
        let mac = HMAC.authenticate(hmac.algorithm, key: Array(key.utf8), message: message)
        let encoded = hmac.encoding == .hex ? ByteEncoding.hex(mac) : ByteEncoding.base64(mac)
        var headers: [(String, String)] = [("Content-Type", "application/json"), (Self.canonicalHeaderName(header), hmac.prefix + encoded)]
        if let timestampHeader = hmac.timestampHeader {
            headers.append((Self.canonicalHeaderName(timestampHeader), String(seconds)))
        }
        return SimulatedRequest(method: "POST", path: route.pattern.text, headers: headers, body: body)
    }

    func nonstopayReturn(_ route: Route, _ outcome: ProviderOutcome, _ ids: SimulationIdentifiers) -> SimulatedRequest {
        let path = route.pattern.text.replacingAll("{outcome}", with: FormURLEncoding.encodeComponent(outcome.status))
        let params: [(String, String)] = [
            ("invoice_id", Self.nonstopayInvoice(ids)),
            ("order_id", ids.orderID),
            ("amount", "49.90"),
            ("devise", "EUR"),
        ]
        return SimulatedRequest(method: "GET", path: path, query: FormURLEncoding.render(params), headers: Self.browserHeaders)
    }

    /// `x-signature` → `X-Signature`, as providers spell their headers (handler files may lowercase them).
    static func canonicalHeaderName(_ name: String) -> String {
        name.split(separator: "-", omittingEmptySubsequences: false)
            .map { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() }
            .joined(separator: "-")
    }

    static func nonstopayInvoice(_ ids: SimulationIdentifiers) -> String { "inv_" + String(ids.token.prefix(10)) }

    /// What a browser sends on a return; no credentials.
    static let browserHeaders: [(String, String)] = [
        ("Accept", "text/html,application/xhtml+xml"),
        ("User-Agent", "Mozilla/5.0 (Callbridge simulator)"),
    ]
}
