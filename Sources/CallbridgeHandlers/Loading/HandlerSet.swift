import CallbridgeModel

/// The routes of one provider, as loaded from its handler file.
public struct ProviderHandler: Sendable {
    public var provider: String
    public var description: String?
    public var file: String
    public var routes: [Route]
    /// The provider's order-status API, when its file has one and every
    /// reference in it resolved.
    public var statusAPI: StatusAPISpec?
    /// The references that kept a `status_api:` off (its returns stay hints).
    public var statusAPIUnresolved: [String] = []

    public init(provider: String, description: String?, file: String, routes: [Route], statusAPI: StatusAPISpec? = nil) {
        self.provider = provider
        self.description = description
        self.file = file
        self.routes = routes
        self.statusAPI = statusAPI
    }
}

/// Every loaded provider route, and route matching by method and path.
///
/// Invariant: no two routes share a path pattern, so a path matches at most
/// one route (literal segments are preferred to parameters).
public struct HandlerSet: Sendable {
    public private(set) var providers: [ProviderHandler]
    public private(set) var routes: [Route]
    /// `routes`, indexed for `match` (built once, here).
    private var table = RouteTable(routes: [])

    /// The result of looking a request up.
    public enum Match: Sendable {
        case route(Route, pathParameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public init(providers: [ProviderHandler]) throws(ConfigError) {
        self.providers = providers
        self.routes = []
        var seenProviders: [String: String] = [:]
        for handler in providers {
            if let other = seenProviders[handler.provider] {
                throw ConfigError(file: handler.file, keyPath: "provider", message: "provider '\(handler.provider)' is already defined in \(other)")
            }
            seenProviders[handler.provider] = handler.file
            for route in handler.routes {
                if let clash = routes.first(where: { $0.pattern.segmentsShape == route.pattern.segmentsShape }) {
                    throw ConfigError(file: handler.file, keyPath: "routes.\(route.name).path",
                                      message: "path \(route.pattern) overlaps \(clash.qualifiedName) (\(clash.pattern))")
                }
                routes.append(route)
            }
        }
        // Literal segments before parameters, so /a/b wins over /a/{x}.
        routes.sort { $0.pattern.parameterCount < $1.pattern.parameterCount }
        table = RouteTable(routes: routes)
    }

    public func match(method: String, path: String) -> Match {
        table.match(method: method, path: path, in: routes)
    }

    /// `match` by trying every route in order: the rule `RouteTable` must agree with (tests compare them).
    func matchByScanning(method: String, path: String) -> Match {
        var allowed: Set<String> = []
        for route in routes {
            guard let parameters = route.pattern.match(path) else { continue }
            if route.methods.contains(method.uppercased()) { return .route(route, pathParameters: parameters) }
            allowed.formUnion(route.methods)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed.sorted())
    }

    /// Every `${VAR}`/`file:` reference that did not resolve, by route.
    public var unresolvedSecrets: [(route: String, reference: String)] {
        routes.flatMap { route in route.unresolvedSecrets.map { (route.qualifiedName, $0) } }
    }

    /// A provider's route by name; `status_check` is the status API's answer reader.
    public func route(provider: String, name: String) -> Route? {
        if name == StatusAPISpec.routeName, let spec = statusAPI(provider: provider) { return spec.route }
        return routes.first { $0.provider == provider && $0.name == name }
    }

    /// The provider's status API, if it has one that is configured.
    public func statusAPI(provider: String) -> StatusAPISpec? {
        providers.first { $0.provider == provider }?.statusAPI
    }

    /// Every status API that is configured, by provider.
    public var statusAPIs: [String: StatusAPISpec] {
        Dictionary(providers.compactMap { handler in handler.statusAPI.map { (handler.provider, $0) } }, uniquingKeysWith: { a, _ in a })
    }
}

extension RoutePattern {
    var parameterCount: Int {
        segments.filter { if case .parameter = $0 { return true } else { return false } }.count
    }

    /// The pattern with parameter names erased, for overlap detection.
    var segmentsShape: [String] {
        segments.map { segment in
            switch segment {
            case .literal(let s): return s
            case .parameter: return "{}"
            }
        }
    }
}
