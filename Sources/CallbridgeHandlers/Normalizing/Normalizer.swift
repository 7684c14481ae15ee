import CallbridgeModel

/// Turns one provider request into an event: parse by the route's format,
/// verify, extract fields, map the status, derive the dedup key and mask card
/// data. Pure: no I/O, the clock and the id are passed in.
public struct Normalizer: Sendable {
    /// Headers always replaced before storage, whatever the route says.
    public static let alwaysSecretHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
        "x-signature", "webhook-signature", "x-hub-signature", "x-hub-signature-256",
    ]
    public static let redacted = "[redacted]"

    public init() {}

    /// What the server should do with a request on a route.
    public enum Decision: Sendable {
        /// Store the event, then ack (callback) or 303 to `landingURL` (redirect).
        case accept(NormalizedRequest)
        /// A browser return that failed verification: store nothing, count it,
        /// and send the browser to `landingURL` (outcome `unknown`).
        case rejectReturn(VerificationFailure, landingURL: String)
    }

    public func normalize(route: Route, raw: RawRequest, pathParameters: [String: String], eventID: EventID, now: Timestamp) throws(IngestError) -> Decision {
        let inbound = try parse(route: route, raw: raw, pathParameters: pathParameters)

        var verification: VerificationMethod = .none
        for verifier in route.verifiers {
            if case .failed(let failure) = verifier.verify(inbound, now: now) {
                if route.channel == .redirect, let landing = route.landing {
                    let orderID = route.fields[.orderID]?.lazy.compactMap({ $0.text(from: inbound) }).first
                    return .rejectReturn(failure, landingURL: landing.render(orderID: orderID, outcome: .unknown, eventID: nil))
                }
                throw .verificationFailed(failure)
            }
            if verifier.method != .ipAllowlist || verification == .none { verification = verifier.method }
        }
        // After verification, so only the provider learns why its request is refused.
        if let refusal = route.refusals.first(where: { $0.when.extract(from: inbound) != nil }) {
            throw IngestError(status: refusal.status, code: refusal.code, detail: refusal.detail)
        }
        return .accept(build(route: route, inbound: inbound, verification: verification, eventID: eventID, now: now))
    }

    /// Re-runs extraction and mapping over a stored request without verifying
    /// it again (its verification is carried over), for `replay --renormalize`.
    public func renormalize(route: Route, raw: RawRequest, pathParameters: [String: String], eventID: EventID, verification: VerificationMethod, now: Timestamp) throws(IngestError) -> NormalizedRequest {
        let inbound = try parse(route: route, raw: raw, pathParameters: pathParameters)
        return build(route: route, inbound: inbound, verification: verification, eventID: eventID, now: now)
    }

    /// Reads a provider's answer to a status check (`StatusAPISpec.route`):
    /// proven by Callbridge having asked the provider itself.
    public func normalizeAnswer(route: Route, raw: RawRequest, eventID: EventID, now: Timestamp) throws(IngestError) -> NormalizedRequest {
        let inbound = try parse(route: route, raw: raw, pathParameters: [:])
        return build(route: route, inbound: inbound, verification: .providerAPI, eventID: eventID, now: now)
    }

    func build(route: Route, inbound: InboundRequest, verification: VerificationMethod, eventID: EventID, now: Timestamp) -> NormalizedRequest {
        // The type first: `fields_for` may choose other sources for its fields (a refund's own amount).
        let type = route.typeMapping.type(for: inbound)
        var text: [EventField: String] = [:]
        // No per-request set or merged dictionary: the route's fields (each replaced by the
        // type's sources when it has them), then the fields only the type names.
        let typeSpecific = route.typeFields[type]
        func read(_ field: EventField, from sources: [FieldSource]) {
            let values = sources.lazy.compactMap { $0.text(from: inbound)?.trimmingSpaces() }.filter { !route.absentValues.contains($0) && !$0.isEmpty }
            if let value = values.first { text[field] = value }
        }
        for (field, sources) in route.fields { read(field, from: typeSpecific?[field] ?? sources) }
        for (field, sources) in typeSpecific ?? [:] where route.fields[field] == nil { read(field, from: sources) }
        // Values the handler extracts as ids, amounts, statuses or times are
        // not card numbers even when they pass the Luhn check (about one in
        // ten 13-digit millisecond timestamps does); free text is masked.
        let masker = CardDataMasker(preserving: Set(text.filter { $0.key != .customer }.values))
        if let customer = text[.customer] { text[.customer] = masker.maskText(customer) }

        let data = EventData(
            provider: route.provider, route: route.name, channel: route.channel,
            verified: verification != .none, verification: verification,
            orderID: text[.orderID], transactionID: text[.transactionID], providerEventID: text[.providerEventID],
            providerStatus: text[.providerStatus], amount: text[.amount].flatMap(DecimalAmount.init),
            currency: text[.currency].flatMap(CurrencyCode.init), customer: text[.customer],
            merchantData: merchantData(route.merchantData, inbound).map(masker.maskJSON),
            occurredAt: text[.occurredAt].flatMap(Normalizer.parseTime), receivedAt: inbound.raw.receivedAt,
            refundID: text[.refundID], orderAmount: text[.orderAmount].flatMap(DecimalAmount.init)
        )
        let event = Event(id: eventID, type: type, timestamp: now, data: data)

        var dedupKey: String?
        if !route.dedup.isEmpty {
            let parts = route.dedup.map { sources in sources.lazy.compactMap { $0.text(from: inbound) }.first }
            if parts.allSatisfy({ $0 != nil }) { dedupKey = route.name + ":" + parts.compactMap { $0 }.joined(separator: ":") }
        }
        let landingURL = route.landing?.render(orderID: data.orderID, outcome: type.outcome, eventID: eventID)
        return NormalizedRequest(event: event, dedupKey: dedupKey, raw: maskedRaw(inbound, route: route, masker: masker), landingURL: landingURL)
    }

    func parse(route: Route, raw: RawRequest, pathParameters: [String: String]) throws(IngestError) -> InboundRequest {
        var inbound = InboundRequest(raw: raw, pathParameters: pathParameters)
        let contentType = raw.header("content-type").map { Normalizer.mediaType($0) }
        switch route.format {
        case .json:
            if let contentType, !Normalizer.isJSON(contentType) {
                throw .unsupportedMediaType(contentType, expected: "application/json")
            }
            guard !raw.body.isEmpty else { throw .malformedBody("the request body is empty; a JSON object is expected") }
            do {
                inbound.json = try JSONParser().parse(raw.body)
            } catch {
                throw .malformedBody("the body is not valid JSON: \(error)")
            }
            // A provider event is an object (or an array a handler may index into); a bare `null`, string,
            // number or boolean carries no event and would be stored with no fields and no dedup key.
            switch inbound.json {
            case .object?, .array?: break
            default: throw .malformedBody("the body must be a JSON object")
            }
            inbound.params = try queryPairs(raw)
        case .form:
            if let contentType, contentType != "application/x-www-form-urlencoded" {
                throw .unsupportedMediaType(contentType, expected: "application/x-www-form-urlencoded")
            }
            inbound.params = try queryPairs(raw) + formPairs(raw.body)
        case .params:
            var pairs = try queryPairs(raw)
            if !raw.body.isEmpty {
                switch contentType {
                case nil, "application/x-www-form-urlencoded"?:
                    pairs += try formPairs(raw.body)
                case let type? where Normalizer.isJSON(type):
                    guard let json = try? JSONParser().parse(raw.body) else { throw .malformedBody("the body is not valid JSON") }
                    inbound.json = json
                    pairs += (json.objectMembers ?? []).compactMap { key, value in value.scalarText.map { (key, $0) } }
                case let type?:
                    throw .unsupportedMediaType(type, expected: "application/x-www-form-urlencoded or query parameters")
                }
            }
            inbound.params = pairs
        }
        return inbound
    }

    func queryPairs(_ raw: RawRequest) throws(IngestError) -> [(String, String)] {
        guard let pairs = FormURLEncoding.parse(raw.query) else {
            throw IngestError(status: 400, code: "malformed_query", detail: "the query string has an invalid percent-escape or is not UTF-8")
        }
        return pairs
    }

    func formPairs(_ body: [UInt8]) throws(IngestError) -> [(String, String)] {
        guard let text = String(validating: body, as: UTF8.self), let pairs = FormURLEncoding.parse(text) else {
            throw .malformedBody("the form body has an invalid percent-escape or is not UTF-8")
        }
        return pairs
    }

    func merchantData(_ spec: MerchantDataSpec?, _ inbound: InboundRequest) -> JSONValue? {
        switch spec {
        case nil:
            return nil
        case .single(let sources)?:
            let value = sources.lazy.compactMap { $0.extract(from: inbound) }.first { $0 != .null && $0 != .string("") }
            return value.map(Normalizer.parseEmbeddedJSON)
        case .object(let sources)?:
            let members = sources.sorted { $0.key < $1.key }.compactMap { name, source -> (String, JSONValue)? in
                guard let value = source.extract(from: inbound), value != .null, value != .string("") else { return nil }
                return (name, Normalizer.parseEmbeddedJSON(value))
            }
            return members.isEmpty ? nil : .object(members)
        }
    }

    /// A string holding a JSON object or array (like `callbackJson`) becomes that JSON.
    static func parseEmbeddedJSON(_ value: JSONValue) -> JSONValue {
        guard case .string(let s) = value, let first = s.trimmingSpaces().first, first == "{" || first == "[",
              let parsed = try? JSONParser().parse(s) else { return value }
        return parsed
    }

    /// RFC 3339, or Unix seconds / milliseconds (a magnitude above 10^11 is
    /// milliseconds). Nil for anything else and for instants outside years
    /// 0001–9999: the event then has no `occurred_at` (its raw request keeps
    /// what the provider sent) rather than a time that was never claimed or
    /// one that could not be read back.
    package static func parseTime(_ text: String) -> Timestamp? {
        if let ts = Timestamp(rfc3339: text) { return ts }
        guard let n = Int64(text) else { return nil }
        return n.magnitude > 100_000_000_000 ? Timestamp(exactlyMilliseconds: n) : Timestamp(exactlySeconds: n)
    }

    func maskedRaw(_ inbound: InboundRequest, route: Route, masker: CardDataMasker) -> RawRequest {
        let raw = inbound.raw
        var out = raw
        out.headers = raw.headers.map { field in
            if Normalizer.alwaysSecretHeaders.contains(field.name) || route.secretHeaders.contains(field.name) {
                return HeaderField(name: field.name, value: Normalizer.redacted)
            }
            return HeaderField(name: field.name, value: masker.maskText(field.value))
        }
        out.query = masker.maskFormEncoded(raw.query)
        // `inbound.json` is the body already parsed (JSON routes, JSON returns).
        out.body = masker.maskBody(raw.body, format: route.format, parsedJSON: inbound.json)
        return out
    }

    static func mediaType(_ header: String) -> String {
        (header.split(separator: ";").first.map(String.init) ?? header).trimmingSpaces().lowercased()
    }

    static func isJSON(_ mediaType: String) -> Bool {
        mediaType == "application/json" || mediaType.hasSuffix("+json") || mediaType == "text/json"
    }
}

/// An event ready for the log, with its dedup key, the masked raw request and,
/// for browser returns, the landing URL to redirect to.
public struct NormalizedRequest: Sendable {
    public var event: Event
    public var dedupKey: String?
    public var raw: RawRequest
    public var landingURL: String?
}
