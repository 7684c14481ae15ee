import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Testing

/// `callbridge simulate serve-status` as a merchant runs it: the real binary
/// serving Luxfin's status API, answering pending then success, refusing a
/// caller without the key, stopping on SIGTERM, and refusing to start
/// without the key it checks.
@Suite struct SimulateServeStatusTests {
    @Test("serve-status answers the documented shape (pending first), refuses a wrong key, and stops on SIGTERM")
    func servesLuxfin() async throws {
        let directory = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: callbridgeBinary)
        process.arguments = ["simulate", "serve-status", "luxfin", "--port", "0", "--pending-for", "1", "--amount", "25.00"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = ProcessInfo.processInfo.environment.merging(["LUXFIN_API_KEY": "k-serve"]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // The first line names the base URL to give the server.
        var text = ""
        for _ in 0..<100 where !text.contains("\n") {
            text += String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        }
        let base = try #require(text.range(of: "LUXFIN_API_BASE=").map { String(text[$0.upperBound...].prefix { !$0.isWhitespace }) }, "\(text)")
        let port = try #require(Int(base.split(separator: ":").last ?? ""))

        func get(_ headers: [(String, String)]) async -> RawHTTPResponse? {
            await LiveServer.exchange(Wire.make("GET", "/payment/status?payment_id=42", headers: headers), port: port).response
        }
        let first = await get([("Authorization", "Bearer k-serve")])
        let second = await get([("Authorization", "Bearer k-serve")])
        let firstJSON = try JSONParser().parse(try #require(first).body)
        let secondJSON = try JSONParser().parse(try #require(second).body)
        #expect(firstJSON["data"]?["status"]?.stringValue == "PENDING")
        #expect(secondJSON["data"]?["status"]?.stringValue == "SUCCESS")
        #expect(secondJSON["data"]?["Amount"] == JSONValue.number("25.00"), "capital-A Amount as a JSON number")
        #expect(secondJSON["data"]?["id"]?.stringValue == "42")
        #expect(await get([("Authorization", "Bearer wrong")])?.status == 401)

        process.terminate()
        for _ in 0..<100 where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!process.isRunning && process.terminationStatus == 0)
    }

    @Test("serve-status without the provider's key says which variable to set")
    func needsTheKey() throws {
        let directory = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try runCallbridge(["simulate", "serve-status", "luxfin", "--port", "0"], environment: ["LUXFIN_API_KEY": ""], directory: directory)
        #expect(result.status != 0)
        #expect(result.output.contains("LUXFIN_API_KEY"), "\(result.output)")
    }
}
