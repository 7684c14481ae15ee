import CallbridgeModel
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

/// The CLI's human output never passes control characters from
/// unauthenticated requests to the operator's terminal.
@Suite(.serialized) struct TerminalEscapingTests {
    @Test func eventsListAndShowEscapeControlCharactersFromAnUnsignedReturn() async throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try await startServer(in: dir)
        // ESC [2J (clear screen), a CR/LF that would forge a line, a C1 CSI and a right-to-left override.
        let orderID = "ord\u{1B}[2J\r\nevt_forged  payment.succeeded\u{9B}31m\u{202E}x"
        let query = "order_id=" + FormEncoding.encode(orderID) + "&status=SUCCESS"
        let status = try await TestClient.withClient(host: "127.0.0.1", port: server.port) { client in
            try await client.get("/luxfin/return?" + query).status
        }
        #expect(status == .seeOther)
        _ = try await server.terminate()

        let list = try runCallbridge(["events", "list"], directory: dir)
        #expect(list.status == 0, "\(list.output)")
        let printed = list.output.unicodeScalars
        #expect(!printed.contains { $0.value == 0x1B || $0.value == 0x9B || $0.value == 0x202E || $0 == "\r" })
        #expect(list.output.split(separator: "\n").count == 1, "one event, one line: \(list.output)")
        #expect(list.output.contains(#"ord\u{1b}[2J\u{d}\u{a}evt_forged"#))

        let id = try #require(list.output.split(separator: " ").first.map(String.init))
        let show = try runCallbridge(["events", "show", id, "--raw"], directory: dir)
        #expect(show.status == 0, "\(show.output)")
        #expect(!show.output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x9B || $0.value == 0x202E || $0 == "\r" })

        // The JSON output carries the exact value, escaped as JSON.
        let json = try runCallbridge(["events", "list", "--json"], directory: dir)
        let events = try JSONParser().parse(json.output.trimmingSpaces())
        #expect(events.value(atPath: "0.data.order_id") == .string(orderID))
        #expect(!json.output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x9B || $0.value == 0x202E })
    }
}

/// Percent-encodes every byte but letters and digits (enough for a query value in a test).
enum FormEncoding {
    static func encode(_ text: String) -> String {
        text.utf8.map { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return String(UnicodeScalar(byte))
            default: return String(format: "%%%02X", byte)
            }
        }.joined()
    }
}
