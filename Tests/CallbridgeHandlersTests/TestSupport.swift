import CallbridgeCrypto
import CallbridgeHandlers
import CallbridgeModel
import Foundation
import Testing

/// Shared helpers: the real shipped handler folder, fixtures, requests.
enum Support {
    /// `<repo>/handlers`, found from this file's location (Tests/CallbridgeHandlersTests/…).
    static let handlersDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("handlers").path
    }()

    static let juspayUser = "cb_juspay_hooks"
    static let juspayPassword = "s3cr3t-P@ss:with-colon"
    static let juspayResponseKey = "R3sp0nseK3y-test~2026"
    static let nonstopayKey = "nsp_live_test_9c7e2d"
    static let luxfinSecret = "lx_secret_5f1e0c7a"

    /// Every secret the shipped handlers reference.
    static let fullEnvironment: [String: String] = [
        "JUSPAY_WEBHOOK_USERNAME": juspayUser,
        "JUSPAY_WEBHOOK_PASSWORD": juspayPassword,
        "JUSPAY_RESPONSE_KEY": juspayResponseKey,
        "NONSTOPAY_API_KEY": nonstopayKey,
        "LUXFIN_API_SECRET": luxfinSecret,
    ]

    /// 2026-11-23T10:00:00Z
    static let now = Timestamp(secondsSinceEpoch: 1_795_428_000)
    static let eventID = EventID.generate(millisecondsSinceEpoch: 1_795_428_000_000)

    static func secrets(_ environment: [String: String] = fullEnvironment) -> SecretSource {
        SecretSource(environment: environment, readFile: { _ in nil })
    }

    static func handlers(_ environment: [String: String] = fullEnvironment) throws -> HandlerSet {
        try HandlerDirectoryLoader(directory: handlersDirectory, secrets: secrets(environment)).load()
    }

    static func fixture(_ relativePath: String) throws -> [UInt8] {
        let base = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let data = try Data(contentsOf: base.appendingPathComponent(relativePath))
        return [UInt8](data)
    }

    static func fixtureText(_ relativePath: String) throws -> String {
        String(decoding: try fixture(relativePath), as: UTF8.self)
    }

    static func request(
        _ method: String, _ path: String, query: String = "", headers: [(String, String)] = [], body: [UInt8] = [],
        remote: String? = "203.0.113.10"
    ) -> RawRequest {
        RawRequest(
            method: method, path: path, query: query, headers: headers.map { HeaderField(name: $0.0, value: $0.1) },
            body: body, remoteAddress: remote, receivedAt: now
        )
    }

    static func basicAuth(_ user: String, _ password: String) -> String {
        "Basic " + ByteEncoding.base64(Array("\(user):\(password)".utf8))
    }

    /// Matches the request against the handler set and normalizes it.
    static func run(_ set: HandlerSet, _ raw: RawRequest) throws -> Normalizer.Decision {
        guard case .route(let route, let parameters) = set.match(method: raw.method, path: raw.path) else {
            Issue.record("no route for \(raw.method) \(raw.path)")
            throw TestFailure.noRoute
        }
        return try Normalizer().normalize(route: route, raw: raw, pathParameters: parameters, eventID: eventID, now: now)
    }

    /// The accepted request, or a recorded issue.
    static func accepted(_ decision: Normalizer.Decision, sourceLocation: SourceLocation = #_sourceLocation) throws -> NormalizedRequest {
        guard case .accept(let normalized) = decision else {
            Issue.record("expected the request to be accepted, got \(decision)", sourceLocation: sourceLocation)
            throw TestFailure.notAccepted
        }
        return normalized
    }

    /// The IngestError thrown while normalizing, if any.
    static func ingestError(_ set: HandlerSet, _ raw: RawRequest) -> IngestError? {
        do {
            _ = try run(set, raw)
            return nil
        } catch let error as IngestError {
            return error
        } catch {
            return nil
        }
    }

    static func json(_ bytes: [UInt8]) throws -> JSONValue {
        try JSONParser().parse(bytes)
    }

    enum TestFailure: Error { case noRoute, notAccepted }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }

    func replacing(_ target: String, with replacement: String) -> [UInt8] {
        Array(text.replacingOccurrences(of: target, with: replacement).utf8)
    }
}
