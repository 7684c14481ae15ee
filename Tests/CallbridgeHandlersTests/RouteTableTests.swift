import Foundation
import CallbridgeModel
import Testing

@testable import CallbridgeHandlers

/// `RouteTable` (built once at load) must answer exactly as trying every
/// route in order does, for the shipped handlers and for patterns that
/// overlap on some paths.
@Suite struct RouteTableTests {
    /// A comparable rendering of a match.
    static func render(_ match: HandlerSet.Match) -> String {
        switch match {
        case .route(let route, let parameters):
            return route.qualifiedName + " " + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        case .methodNotAllowed(let allowed): return "405 " + allowed.joined(separator: ",")
        case .notFound: return "404"
        }
    }

    /// Concrete paths for a pattern: each parameter filled with several values,
    /// and the path with slashes added or a segment more or less.
    static func paths(for pattern: RoutePattern) -> [String] {
        var filled: [[String]] = [[]]
        for segment in pattern.segments {
            switch segment {
            case .literal(let text):
                filled = filled.map { $0 + [text] } + filled.prefix(1).map { $0 + [text.uppercased()] }
            case .parameter(_, let allowed):
                let values = (allowed.map(Array.init) ?? []) + ["x", "ord%2F1", "%zz", "a b"]
                filled = filled.flatMap { prefix in values.map { prefix + [$0] } }
            }
        }
        return filled.flatMap { parts -> [String] in
            let path = "/" + parts.joined(separator: "/")
            return [path, path + "/", "/" + path, path.replacingOccurrences(of: "/", with: "//"), path + "/extra", String(path.dropLast())]
        }
    }

    static let methods = ["POST", "GET", "post", "Get", "PUT", "DELETE", ""]

    static func assertSameAnswers(_ set: HandlerSet, extraPaths: [String] = []) {
        var paths = set.routes.flatMap { Self.paths(for: $0.pattern) } + extraPaths + ["/", "", "//", "/unknown", "/juspay", "/%2F"]
        paths = Array(Set(paths)).sorted()
        var compared = 0
        for path in paths {
            for method in methods {
                let fast = render(set.match(method: method, path: path))
                let scanned = render(set.matchByScanning(method: method, path: path))
                #expect(fast == scanned, "\(method) \(path)")
                compared += 1
            }
        }
        #expect(compared > 100)
    }

    @Test func theShippedHandlersAnswerAsAScanDoes() throws {
        let set = try Support.handlers()
        #expect(set.routes.contains { $0.pattern.parameterCount > 0 }, "the shipped handlers have a route with parameters")
        Self.assertSameAnswers(set)
        // And the table does find them.
        guard case .route(let route, _) = set.match(method: "POST", path: "/juspay/webhook") else {
            Issue.record("POST /juspay/webhook did not match")
            return
        }
        #expect(route.qualifiedName == "juspay/webhook")
    }

    static func route(_ provider: String, _ name: String, _ pattern: String, methods: Set<String>, allowed: [String: Set<String>] = [:]) -> Route {
        Route(provider: provider, name: name, pattern: RoutePattern(pattern, allowed: allowed), methods: methods, channel: .callback, format: .json,
              verifiers: [], fields: [:], merchantData: nil, typeMapping: TypeMapping(sources: [], map: [:], deferred: []), dedup: [], landing: nil)
    }

    @Test func overlappingPatternsKeepTheOrderOfAScan() throws {
        // /a/{x} and /{y}/b both match /a/b; /a/b/c is literal; {kind} is restricted to two values.
        let set = try HandlerSet(providers: [
            ProviderHandler(provider: "p", description: nil, file: "p.yaml", routes: [
                Self.route("p", "any_b", "/{y}/b", methods: ["POST"]),
                Self.route("p", "a_any", "/a/{x}", methods: ["GET"]),
                Self.route("p", "literal", "/a/b/c", methods: ["POST", "PUT"]),
                Self.route("p", "kinds", "/k/{kind}/c", methods: ["POST"], allowed: ["kind": ["one", "two"]]),
            ]),
        ])
        Self.assertSameAnswers(set, extraPaths: ["/a/b", "/z/b", "/a/z", "/k/one/c", "/k/three/c", "/a/b/c/"])
        #expect(Self.render(set.match(method: "POST", path: "/a/b/c")) == "p/literal ")
        #expect(Self.render(set.match(method: "DELETE", path: "/a/b/c")) == "405 POST,PUT")
        #expect(Self.render(set.match(method: "POST", path: "/k/three/c")) == "404")
    }
}
