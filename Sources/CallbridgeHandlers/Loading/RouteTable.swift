/// Route lookup prepared once, when the handler files are loaded: a request
/// path is split once and compared only with the routes that can match it.
///
/// Invariants (the same answers as trying every route of `HandlerSet.routes`
/// in order, which the tests check):
/// - a route without parameters is found by its exact segment list;
/// - a route with parameters is tried only for paths with its segment count,
///   in the order of `HandlerSet.routes` (literal routes come first there);
/// - the method is compared upper-cased; a path that matches only under other
///   methods yields their union, sorted.
struct RouteTable: Sendable {
    /// Segments joined by "/" → index of the literal route.
    private let literal: [String: Int]
    /// Segment count → indices of the routes with parameters, ascending.
    private let parameterized: [Int: [Int]]

    init(routes: [Route]) {
        var literal: [String: Int] = [:]
        var parameterized: [Int: [Int]] = [:]
        for (index, route) in routes.enumerated() {
            if route.pattern.parameterCount == 0 {
                let key = route.pattern.segments.map { segment -> String in
                    if case .literal(let text) = segment { return text }
                    return ""
                }.joined(separator: "/")
                if literal[key] == nil { literal[key] = index }
            } else {
                parameterized[route.pattern.segments.count, default: []].append(index)
            }
        }
        self.literal = literal
        self.parameterized = parameterized
    }

    /// The route for `method` and `path` among `routes` (the array this table was built from).
    func match(method: String, path: String, in routes: [Route]) -> HandlerSet.Match {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        let upper = method.uppercased()
        var allowed: Set<String> = []
        if let index = literal[parts.joined(separator: "/")] {
            let route = routes[index]
            if route.methods.contains(upper) { return .route(route, pathParameters: [:]) }
            allowed.formUnion(route.methods)
        }
        for index in parameterized[parts.count] ?? [] {
            let route = routes[index]
            guard let parameters = route.pattern.match(parts: parts) else { continue }
            if route.methods.contains(upper) { return .route(route, pathParameters: parameters) }
            allowed.formUnion(route.methods)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed.sorted())
    }
}
