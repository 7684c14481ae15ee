import CallbridgeModel
import Foundation
import Testing

/// `callbridge log backup` as an operator runs it: the real binary, a real log file.
@Suite(.serialized) struct LogBackupCommandTests {
    @Test func backsUpTheConfiguredLogAndNeverOverwrites() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        storage: {sqlite: ./data/callbridge.sqlite}
        endpoints:
          - {name: orders, url: "http://127.0.0.1:9/orders", secret: "${ORDERS_SECRET}"}
        """.write(toFile: dir + "/callbridge.yaml", atomically: true, encoding: .utf8)
        let env = ["ORDERS_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
        // Creates the log, with one endpoint state in it.
        #expect(try runCallbridge(["endpoints", "disable", "orders", "--reason", "maintenance"], environment: env, directory: dir).status == 0)

        let backup = try runCallbridge(["log", "backup", "--to", "copy.sqlite"], environment: env, directory: dir)
        #expect(backup.status == 0, "\(backup.output)")
        #expect(backup.output.contains("callbridge.sqlite to \(dir)/copy.sqlite: 0 event(s), 0 deliveries"), "\(backup.output)")
        #expect(backup.output.contains("integrity ok"))

        // The copy is a log: point a config at it and it reads back the endpoint state.
        try """
        storage: {sqlite: ./copy.sqlite}
        endpoints:
          - {name: orders, url: "http://127.0.0.1:9/orders", secret: "${ORDERS_SECRET}"}
        """.write(toFile: dir + "/restored.yaml", atomically: true, encoding: .utf8)
        let list = try runCallbridge(["endpoints", "list", "--config", "restored.yaml"], environment: env, directory: dir)
        #expect(list.output.contains("orders  disabled"), "\(list.output)")

        let again = try runCallbridge(["log", "backup", "--to", "copy.sqlite"], environment: env, directory: dir)
        #expect(again.status == 1)
        #expect(again.output.contains("exists already"), "\(again.output)")

        let noFolder = try runCallbridge(["log", "backup", "--to", "missing/copy.sqlite"], environment: env, directory: dir)
        #expect(noFolder.status == 1)
        #expect(noFolder.output.contains("does not exist"), "\(noFolder.output)")
    }
}
