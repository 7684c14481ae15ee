import CallbridgeCrypto
import CallbridgeHandlers

/// Where one request to a simulated status API goes, decided from the
/// request target exactly as received (path and query still percent-encoded).
///
/// Invariants: an order id is percent-decoded exactly once (`+` is a space
/// only in a query); a malformed escape or non-UTF-8 id is a bad request,
/// never a crash; anything but the provider's one endpoint is not found.
enum StatusAPIRoute: Equatable {
    /// The provider's order-status endpoint, asked about this (decoded) order id.
    case order(String)
    /// The endpoint, with a missing or undecodable order id.
    case badRequest(String)
    /// The endpoint, with a method other than `GET`.
    case methodNotAllowed
    /// Any other path.
    case notFound

    /// Routes `method` and `target` (`/path?query`) for `provider`'s API.
    static func route(provider: SimulatedProvider, method: String, target: String) -> StatusAPIRoute {
        var target = Substring(target)
        // Clients never send a fragment; drop one rather than misread it.
        if let hash = target.firstIndex(of: "#") { target = target[..<hash] }
        let path: Substring
        let query: Substring
        if let mark = target.firstIndex(of: "?") {
            path = target[..<mark]
            query = target[target.index(after: mark)...]
        } else {
            path = target
            query = ""
        }
        switch provider {
        case .juspay:
            let prefix = "/orders/"
            guard path.hasPrefix(prefix) else { return .notFound }
            let segment = path.dropFirst(prefix.count)
            guard !segment.isEmpty, !segment.contains("/") else { return .notFound }
            guard method == "GET" else { return .methodNotAllowed }
            guard let id = FormURLEncoding.decode(segment, plusAsSpace: false), !id.isEmpty else {
                return .badRequest("the order id in the path is not valid percent-encoded UTF-8")
            }
            return .order(id)
        case .luxfin:
            guard path == "/payment/status" else { return .notFound }
            guard method == "GET" else { return .methodNotAllowed }
            return queryValue(named: "payment_id", in: query)
        case .nonstopay:
            guard path == "/api/invoice/status/" || path == "/api/invoice/status" else { return .notFound }
            guard method == "GET" else { return .methodNotAllowed }
            return queryValue(named: "id", in: query)
        }
    }

    /// The first value of query parameter `name`, form-decoded.
    private static func queryValue(named name: String, in query: Substring) -> StatusAPIRoute {
        guard let pairs = FormURLEncoding.parse(String(query)) else {
            return .badRequest("the query string is not valid percent-encoded UTF-8")
        }
        guard let value = pairs.first(where: { $0.0 == name })?.1, !value.isEmpty else {
            return .badRequest("\(name) is required")
        }
        return .order(value)
    }

    /// Whether `headers` (names lowercased) carry `credentials` the way
    /// `provider`'s API expects them. Nil credentials accept any caller.
    static func isAuthorized(provider: SimulatedProvider, credentials: StatusAPISimulator.Credentials?, headers: [(String, String)]) -> Bool {
        guard let credentials else { return true }
        func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
        switch provider {
        case .juspay:
            guard let value = header("authorization"), let encoded = credential(value, scheme: "basic"),
                  let decoded = ByteEncoding.fromBase64(encoded),
                  decoded == Array((credentials.apiKey + ":").utf8)
            else { return false }
            if let merchantID = credentials.merchantID {
                return header("x-merchantid") == merchantID
            }
            return true
        case .luxfin:
            guard let value = header("authorization"), let token = credential(value, scheme: "bearer") else { return false }
            return token == credentials.apiKey
        case .nonstopay:
            return header("api-key") == credentials.apiKey
        }
    }

    /// The credential after `scheme ` in an `Authorization` value (scheme matched case-insensitively).
    private static func credential(_ value: String, scheme: String) -> String? {
        guard let space = value.firstIndex(of: " "), value[..<space].lowercased() == scheme else { return nil }
        let rest = value[value.index(after: space)...].drop { $0 == " " }
        return rest.isEmpty ? nil : String(rest)
    }
}
