import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Testing

/// A `callbridge serve` process under attack: started in a folder of its
/// own, checked after every hostile case (alive, `/healthz` answers), and
/// restarted if a case killed it, so one crash does not hide the other cases.
final class LiveServer {
    static let adminToken = "hostile-admin-token-0123456789"

    let directory: String
    let environment: [String: String]
    private(set) var serve: ServeProcess
    /// The output of every process that died, newest last.
    private(set) var crashes: [String] = []

    init(config: String, environment extra: [String: String] = [:]) async throws {
        directory = try makeTempDirectory()
        try config.write(toFile: directory + "/callbridge.yaml", atomically: true, encoding: .utf8)
        var environment = providerSecrets
        environment["ADMIN_TOKEN"] = Self.adminToken
        environment.merge(extra) { $1 }
        self.environment = environment
        serve = try ServeProcess(config: "callbridge.yaml", directory: directory, environment: environment)
        try await serve.waitUntilListening()
    }

    var port: Int { serve.port }
    var isRunning: Bool { serve.process.isRunning }
    var pid: Int32 { serve.process.processIdentifier }

    /// One request on a fresh connection; nil (with `problem` set) when no complete answer came within `timeout`.
    func exchange(_ bytes: [UInt8], timeout: Duration = .seconds(10)) async -> (response: RawHTTPResponse?, problem: String?) {
        await Self.exchange(bytes, port: port, timeout: timeout)
    }

    static func exchange(_ bytes: [UInt8], port: Int, timeout: Duration = .seconds(10)) async -> (response: RawHTTPResponse?, problem: String?) {
        let connection: RawHTTPConnection
        do {
            connection = try await RawHTTPConnection.connect(port: port)
        } catch {
            return (nil, "connect: \(error)")
        }
        var problem: String?
        do {
            try await connection.send(bytes)
        } catch {
            problem = "send: \(error)"
        }
        // An answer may arrive even when the send failed (the server answered and closed early).
        let response = await connection.waitForResponse(timeout: problem == nil ? timeout : .milliseconds(200))
        await connection.close()
        if response == nil, problem == nil { problem = "no answer within \(timeout) (connection \(connection.ending))" }
        return (response, response == nil ? problem : nil)
    }

    /// Nil when the process runs and `GET /healthz` answers `200` within 5 s; otherwise what is wrong.
    func healthProblem() async -> String? {
        guard isRunning else { return "the process is not running (\(serve.process.terminationReason == .uncaughtSignal ? "signal" : "exit") \(serve.process.terminationStatus))" }
        let (response, problem) = await exchange(Wire.make("GET", "/healthz"), timeout: .seconds(5))
        if let problem { return "/healthz: \(problem)" }
        guard let response, response.status == 200 else { return "/healthz answered \(response?.status ?? 0)" }
        return nil
    }

    /// `GET target` on the admin API with the token.
    func admin(_ target: String) async -> (response: RawHTTPResponse?, problem: String?) {
        await exchange(Wire.make("GET", target, headers: [("Authorization", "Bearer \(Self.adminToken)")]))
    }

    /// `GET /admin/v1/…` parsed as JSON, or nil (recorded as an issue).
    func adminJSON(_ target: String) async -> JSONValue? {
        let (response, problem) = await admin(target)
        guard let response, response.status == 200, let value = try? JSONParser().parse(response.body) else {
            Issue.record("\(target): \(problem ?? "status \(response?.status ?? 0): \(response?.bodyText.prefix(300) ?? "")")")
            return nil
        }
        return value
    }

    /// Starts a new process on the same log if this one died; returns whether it had.
    @discardableResult
    func restartIfDead() async throws -> Bool {
        guard !isRunning else { return false }
        crashes.append(serve.output)
        serve = try ServeProcess(config: "callbridge.yaml", directory: directory, environment: environment)
        try await serve.waitUntilListening()
        return true
    }

    /// SIGTERM (SIGKILL if ignored) and the folder removed; returns the exit status.
    func stop() async throws -> Int32 {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard isRunning else { return serve.process.terminationStatus }
        return try await serve.terminate()
    }
}

/// Problems with a 4xx answer's body: JSON `{"error": code, "detail": text}` with a JSON content type.
func errorBodyProblem(_ response: RawHTTPResponse, code expected: String? = nil) -> String? {
    guard let type = response.header("content-type"), type.lowercased().hasPrefix("application/json") else {
        return "content type \(response.header("content-type") ?? "(none)") instead of application/json, body \(response.bodyText.prefix(120).debugDescription)"
    }
    guard let body = try? JSONParser().parse(response.body), let code = body["error"]?.stringValue, body["detail"]?.stringValue != nil else {
        return "body is not {error, detail}: \(response.bodyText.prefix(200).debugDescription)"
    }
    if let expected, code != expected { return "error code \(code) instead of \(expected)" }
    return nil
}
