import Foundation
import Testing

/// The repository's root, found from this file's path.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The built `callbridge` executable (`scripts/test.sh` builds it and sets
/// CALLBRIDGE_BINARY; a plain `swift build` leaves it in .build/debug).
let callbridgeBinary: String = ProcessInfo.processInfo.environment["CALLBRIDGE_BINARY"] ?? repositoryRoot + "/.build/debug/callbridge"

let providerSecrets: [String: String] = [
    "JUSPAY_WEBHOOK_USERNAME": "merchant_hooks",
    "JUSPAY_WEBHOOK_PASSWORD": "s3cret-basic-pass",
    "JUSPAY_RESPONSE_KEY": "juspay-response-key-123",
    "NONSTOPAY_API_KEY": "nsp_live_key_abc",
    "LUXFIN_API_SECRET": "lx_secret_key_def",
]

/// The result of running `callbridge` to completion.
struct CommandResult {
    var status: Int32
    var output: String
}

/// Runs `callbridge ARGS` to completion with stdout and stderr captured together.
func runCallbridge(_ arguments: [String], environment: [String: String] = providerSecrets, directory: String) throws -> CommandResult {
    #expect(FileManager.default.isExecutableFile(atPath: callbridgeBinary), "build the binary first: swift build --product callbridge")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: callbridgeBinary)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
}

/// A `callbridge serve` process whose output goes to a file; `port` is read
/// from its "listening" log line.
final class ServeProcess {
    let process = Process()
    let outputPath: String
    private(set) var port = 0

    init(config: String, directory: String, environment: [String: String] = providerSecrets, arguments: [String] = []) throws {
        outputPath = directory + "/serve.log"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: callbridgeBinary)
        process.arguments = ["serve", "--config", config] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Waits (at most 20 s) for the server to log its listening port
    /// (`port=N` in text logs, `"port":"N"` in JSON logs).
    func waitUntilListening() async throws {
        for _ in 0..<200 {
            if let line = output.split(separator: "\n").first(where: { $0.contains("listening") && ($0.contains("port=") || $0.contains("\"port\":\"")) }),
               let range = line.range(of: "port=") ?? line.range(of: "\"port\":\""),
               let port = Int(line[range.upperBound...].prefix(while: \.isNumber)) {
                self.port = port
                return
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("callbridge serve did not start listening:\n\(output)")
        throw CancellationError()
    }

    /// Sends SIGTERM and waits (at most 20 s) for the exit status.
    func terminate() async throws -> Int32 {
        process.terminate()
        for _ in 0..<200 where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            Issue.record("callbridge serve ignored SIGTERM")
        }
        return process.terminationStatus
    }
}

/// Writes `callbridge.yaml` into `directory` (loopback on a free port, a SQLite
/// log under `./data`, the shipped handlers; `listen` adds keys to `listen:`),
/// starts `serve` on it and waits until it listens.
func startServer(in directory: String, listen: String = "", environment: [String: String] = providerSecrets) async throws -> ServeProcess {
    try """
    listen: {host: 127.0.0.1, port: 0\(listen.isEmpty ? "" : ", " + listen)}
    storage: {sqlite: ./data/callbridge.sqlite}
    handlers: \(repositoryRoot)/handlers
    """.write(toFile: directory + "/callbridge.yaml", atomically: true, encoding: .utf8)
    let server = try ServeProcess(config: "callbridge.yaml", directory: directory, environment: environment)
    try await server.waitUntilListening()
    return server
}

func makeTempDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "callbridge-cli-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
