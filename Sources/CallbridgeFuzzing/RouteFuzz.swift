import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the `route` target reads its input:
///
/// - byte 0: the route, an index into the shipped routes sorted by
///   `provider/name` (modulo their count);
/// - byte 1: flags. Bit 0: authenticate the request correctly (Basic auth,
///   HMAC header, Juspay return signature, API key…) with the fixed test
///   secrets, so inputs get past verification; bit 1: the route's second
///   method instead of the first (sorted); bit 2: add the route format's
///   `Content-Type` unless the input has one; bits 4–7: which allowed value
///   fills a `{parameter}` path segment;
/// - the rest, split at the first two 0xFF bytes (never part of UTF-8 text):
///   the query string, the header lines (`name: value`, one per line), and the
///   body (which may contain 0xFF itself). Missing parts are empty.
public struct RouteFuzzInput: Sendable {
    public var routeIndex: Int
    public var sign: Bool
    public var alternateMethod: Bool
    public var addContentType: Bool
    public var pathValue: Int
    public var query: String
    public var headers: [HeaderField]
    public var body: [UInt8]

    public init(_ bytes: [UInt8]) {
        routeIndex = bytes.first.map(Int.init) ?? 0
        let flags = bytes.count > 1 ? bytes[1] : 0
        sign = flags & 1 != 0
        alternateMethod = flags & 2 != 0
        addContentType = flags & 4 != 0
        pathValue = Int(flags >> 4)
        let rest = bytes.dropFirst(2)
        let parts = rest.split(separator: 0xFF, maxSplits: 2, omittingEmptySubsequences: false)
        query = parts.count > 0 ? String(decoding: parts[0], as: UTF8.self) : ""
        let headerText = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : ""
        headers = headerText.split(whereSeparator: \.isNewline).compactMap { line in
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else { return nil }
            return HeaderField(name: String(line[..<colon]).trimmingSpaces(), value: String(line[line.index(after: colon)...]).trimmingSpaces())
        }
        body = parts.count > 2 ? Array(parts[2]) : []
    }

    /// The bytes that ``init(_:)`` reads back as this input (for writing seeds).
    public static func encode(route: Int, flags: UInt8, query: String, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        [UInt8(route), flags] + Array(query.utf8) + [0xFF] + Array(headers.map { "\($0.0): \($0.1)" }.joined(separator: "\n").utf8) + [0xFF] + body
    }
}

/// Every shipped handler route (`handlers/*.yaml`) end to end: the input
/// becomes a request (``RouteFuzzInput``), matched by `HandlerSet.match` and
/// normalized as ingest does. Normalizing either throws an `IngestError` or
/// decides; an accepted event's envelope reads back; secret headers are
/// redacted in the stored request; a dedup key belongs to its route.
public enum RouteFuzz {
    /// What normalizing one input came to, for tests that check the corpus
    /// still reaches past verification on every route.
    public enum Outcome: Sendable, Hashable {
        case refused(status: Int)
        case accepted(verified: Bool)
        case rejectedReturn
    }

    /// A test value for every `${NAME}` the shipped handler files reference
    /// without a default (`${NAME:-default}` keeps its default), so every
    /// verifier has a secret and a new handler needs no change here. A
    /// `*_API_BASE` (a status API's host) gets a loopback URL.
    static let environment: [String: String] = {
        var environment: [String: String] = [:]
        for file in FuzzCorpus.files(at: handlersDirectory) where file.hasSuffix(".yaml") || file.hasSuffix(".yml") {
            let text = String(decoding: FuzzCorpus.read(file) ?? [], as: UTF8.self)
            var rest = Substring(text)
            while let open = rest.firstRange(of: "${") {
                rest = rest[open.upperBound...]
                guard let close = rest.firstIndex(of: "}") else { break }
                let name = rest[..<close]
                if !name.contains(":"), !name.isEmpty {
                    environment[String(name)] = name.hasSuffix("_API_BASE") ? "http://127.0.0.1:9" : "fuzz-secret-" + name.lowercased()
                }
                rest = rest[close...]
            }
        }
        return environment
    }()
    static let now = Timestamp(secondsSinceEpoch: 1_795_428_000)
    static let eventID = EventID.generate(millisecondsSinceEpoch: 1_795_428_000_000)

    /// The folder of the shipped handler files: `CALLBRIDGE_FUZZ_HANDLERS`, or
    /// `handlers/` of the checkout this file was compiled from.
    static var handlersDirectory: String {
        if let override = getenv("CALLBRIDGE_FUZZ_HANDLERS") { return String(cString: override) }
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Sources/CallbridgeFuzzing/RouteFuzz.swift
        return parts.joined(separator: "/") + "/handlers"
    }

    static let handlers: HandlerSet = {
        do {
            let set = try HandlerDirectoryLoader(directory: handlersDirectory, secrets: SecretSource(environment: environment, readFile: { _ in nil })).load()
            guard !set.routes.isEmpty else { fatalError("no routes in \(handlersDirectory)") }
            return set
        } catch {
            fatalError("the shipped handlers in \(handlersDirectory) do not load: \(error)")
        }
    }()

    /// The routes in the order byte 0 of an input indexes them.
    public static let routes: [Route] = handlers.routes.sorted { $0.qualifiedName < $1.qualifiedName }

    static func run(_ bytes: [UInt8]) {
        _ = outcome(bytes)
    }

    /// Runs one input (checking every invariant) and tells which route it went to and how it ended.
    @discardableResult
    public static func outcome(_ bytes: [UInt8]) -> (route: String, outcome: Outcome) {
        let input = RouteFuzzInput(bytes)
        let route = routes[input.routeIndex % routes.count]
        let methods = route.methods.sorted()
        let method = input.alternateMethod && methods.count > 1 ? methods[1] : methods[0]
        var headers = input.headers
        if input.addContentType, !headers.contains(where: { $0.name == "content-type" }) {
            let type = route.format == .json ? "application/json" : "application/x-www-form-urlencoded"
            headers.append(HeaderField(name: "Content-Type", value: type))
        }
        var raw = RawRequest(
            method: method, path: path(for: route, choice: input.pathValue), query: input.query, headers: headers,
            body: input.body, remoteAddress: "203.0.113.10", receivedAt: now
        )
        if input.sign { authenticate(&raw, for: route) }

        guard case .route(let matched, let parameters) = handlers.match(method: raw.method, path: raw.path) else {
            invariant(false, "\(raw.method) \(raw.path) does not match its own route \(route.qualifiedName)")
            return (route.qualifiedName, .refused(status: 404))
        }
        invariant(matched.qualifiedName == route.qualifiedName, "\(raw.path) matched \(matched.qualifiedName), not \(route.qualifiedName)")

        let decision: Normalizer.Decision
        do {
            decision = try Normalizer().normalize(route: matched, raw: raw, pathParameters: parameters, eventID: eventID, now: now)
        } catch {
            invariant((400..<600).contains(error.status), "an IngestError with status \(error.status)")
            return (route.qualifiedName, .refused(status: error.status))
        }
        switch decision {
        case .accept(let normalized):
            EventChecks.readsBack(normalized.event, origin: route.qualifiedName)
            invariant(normalized.event.data.route == route.name && normalized.event.data.provider == route.provider, "the event names another route")
            if let key = normalized.dedupKey { invariant(key.hasPrefix(route.name + ":"), "dedup key \(describe(key)) of another route") }
            for field in normalized.raw.headers
            where Normalizer.alwaysSecretHeaders.contains(field.name) || route.secretHeaders.contains(field.name) {
                invariant(field.value == Normalizer.redacted, "secret header \(field.name) stored unredacted")
            }
            invariant(normalized.raw.headers.count == raw.headers.count, "the stored request lost or gained headers")
            invariant((route.channel == .redirect) == (normalized.landingURL != nil) || route.landing == nil, "a landing URL on a callback route, or none on a redirect")
            return (route.qualifiedName, .accepted(verified: normalized.event.data.verified))
        case .rejectReturn(_, let landingURL):
            invariant(route.channel == .redirect && !landingURL.isEmpty, "a rejected return on \(route.qualifiedName) without a landing URL")
            return (route.qualifiedName, .rejectedReturn)
        }
    }

    /// The route's path, with `{parameter}` segments filled from their allowed
    /// values (or a fixed word when any value is allowed).
    static func path(for route: Route, choice: Int) -> String {
        "/" + route.pattern.segments.map { segment in
            switch segment {
            case .literal(let text): return text
            case .parameter(_, let allowed?): let values = allowed.sorted(); return values[choice % values.count]
            case .parameter(_, nil): return "fuzz"
            }
        }.joined(separator: "/")
    }

    /// Adds what the route's verifiers check, computed with the test secrets over
    /// the request as it stands, so the fuzzer reaches extraction and mapping.
    static func authenticate(_ raw: inout RawRequest, for route: Route) {
        for verifier in route.verifiers {
            switch verifier {
            case let basic as BasicAuthVerifier:
                guard let credential = basic.credentials.first else { continue }
                let token = ByteEncoding.base64(Array("\(credential.username):\(credential.password)".utf8))
                set(&raw, "authorization", "Basic \(token)")
            case let key as APIKeyVerifier:
                guard let first = key.keys.first else { continue }
                set(&raw, key.header, key.prefix + first)
            case let hmac as HMACVerifier:
                guard let secret = hmac.secrets.first else { continue }
                var message: [UInt8] = []
                if let timestampHeader = hmac.timestampHeader {
                    set(&raw, timestampHeader, String(now.secondsSinceEpoch))
                    message += Array("\(now.secondsSinceEpoch).".utf8)
                }
                switch hmac.payload {
                case .body: message += raw.body
                case .params:
                    var excluded: String?
                    if case .param(let name) = hmac.location { excluded = name }
                    let pairs = params(raw).filter { $0.0 != excluded }.sorted { $0.0 < $1.0 }
                    message += Array(pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&").utf8)
                }
                let mac = HMAC.authenticate(hmac.algorithm, key: Array(secret.utf8), message: message)
                let encoded = hmac.prefix + (hmac.encoding == .hex ? ByteEncoding.hex(mac) : ByteEncoding.base64(mac))
                switch hmac.location {
                case .header(let name): set(&raw, name, encoded)
                case .param(let name): prependQuery(&raw, name, encoded)
                }
            case let allowlist as IPAllowlistVerifier:
                guard let network = allowlist.networks.first else { continue }
                raw.remoteAddress = network.address.count == 4
                    ? network.address.map(String.init).joined(separator: ".")
                    : stride(from: 0, to: network.address.count, by: 2).map { String(Int(network.address[$0]) << 8 | Int(network.address[$0 + 1]), radix: 16) }.joined(separator: ":")
            case let juspay as JuspayReturnVerifier:
                guard let key = juspay.responseKeys.first else { continue }
                let signature = JuspayReturnVerifier.signature(params: params(raw), key: key)
                // Juspay double-encodes the signature in its return URL.
                prependQuery(&raw, "signature", FormURLEncoding.encodeFormComponent(signature))
            default:
                continue
            }
        }
    }

    /// The parameters as the normalizer will see them on a `params` route:
    /// the query, then a form body (a JSON body's scalars are left out).
    static func params(_ raw: RawRequest) -> [(String, String)] {
        let query = FormURLEncoding.parse(raw.query) ?? []
        let contentType = raw.header("content-type")?.split(separator: ";").first.map { $0.trimmingSpaces().lowercased() }
        guard contentType == nil || contentType == "application/x-www-form-urlencoded",
              let text = String(validating: raw.body, as: UTF8.self), let form = FormURLEncoding.parse(text)
        else { return query }
        return query + form
    }

    static func set(_ raw: inout RawRequest, _ name: String, _ value: String) {
        let field = HeaderField(name: name, value: value)
        raw.headers.removeAll { $0.name == field.name }
        raw.headers.insert(field, at: 0)
    }

    static func prependQuery(_ raw: inout RawRequest, _ name: String, _ value: String) {
        let pair = FormURLEncoding.encodeFormComponent(name) + "=" + FormURLEncoding.encodeFormComponent(value)
        raw.query = raw.query.isEmpty ? pair : pair + "&" + raw.query
    }
}
