import CallbridgeModel
import CallbridgeTestSupport
import Foundation
import Testing

/// Raw HTTP/1.1 requests for the hostile-input tests, built byte by byte so
/// that they can be as wrong as a real attacker's.
enum Wire {
    /// `METHOD TARGET HTTP/1.1`, a Host header, `headers`, a `Content-Length`
    /// for `body` (unless a Transfer-Encoding is given) and `Connection: close`.
    static func make(_ method: String = "GET", _ target: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     close: Bool = true, version: String = "HTTP/1.1") -> [UInt8] {
        var head = "\(method) \(target) \(version)\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let chunked = headers.contains { $0.0.lowercased() == "transfer-encoding" }
        if let body, !chunked { head += "Content-Length: \(body.count)\r\n" }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return Array(head.utf8) + (body ?? [])
    }

    /// A POST to the Juspay webhook route with valid Basic credentials.
    static func webhook(_ body: [UInt8], contentType: String? = "application/json", headers: [(String, String)] = []) -> [UInt8] {
        var fields = [("Authorization", JuspayWebhook.authorization)]
        if let contentType { fields.append(("Content-Type", contentType)) }
        return make("POST", "/juspay/webhook", headers: fields + headers, body: body)
    }

    static func webhook(_ body: String, contentType: String? = "application/json", headers: [(String, String)] = []) -> [UInt8] {
        webhook(Array(body.utf8), contentType: contentType, headers: headers)
    }

    /// The head of a chunked webhook POST; the chunks follow as separate sends.
    static func chunkedWebhookHead(headers: [(String, String)] = []) -> [UInt8] {
        make("POST", "/juspay/webhook", headers: [
            ("Authorization", JuspayWebhook.authorization), ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"),
        ] + headers)
    }

    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + [13, 10]
    }

    static let lastChunk = Array("0\r\n\r\n".utf8)

    /// A JSON webhook whose envelope is valid (so it verifies and parses as far as the
    /// handler needs) with `orderExtra` spliced into `content.order`.
    static func webhookBody(id: String, dateCreated: String = #""2026-11-23T09:59:58Z""#, orderID: String = #""ord_1""#,
                            amount: String = "10.00", orderExtra: String = "") -> String {
        #"{"id":"\#(id)","date_created":\#(dateCreated),"event_name":"ORDER_SUCCEEDED","content":{"order":{"order_id":\#(orderID),"status":"CHARGED","amount":\#(amount),"currency":"EUR"\#(orderExtra)}}}"#
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// `count` query or form parameters `p0=0&p1=1…`.
    static func parameters(_ count: Int) -> String {
        (0..<count).map { "p\($0)=\($0)" }.joined(separator: "&")
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

/// Where a `Location` sends a browser, judged as a browser would (WHATWG URL
/// rules for `https:`): backslashes are slashes, `%2e` is a dot in a dot
/// segment, and dot segments are resolved.
enum LandingCheck {
    /// A problem with `location`, or nil when it stays under `https://HOST/checkout/`.
    static func problem(_ location: String?, host: String) -> String? {
        guard let location else { return "no Location header" }
        if let bad = location.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == " " }) {
            return "Location contains control or space character U+\(String(bad.value, radix: 16)): \(location.debugDescription)"
        }
        let normalized = location.replacingOccurrences(of: "\\", with: "/")
        let prefix = "https://"
        guard normalized.lowercased().hasPrefix(prefix) else { return "Location is not an absolute https URL: \(location)" }
        let rest = normalized.dropFirst(prefix.count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard authority.lowercased() == host.lowercased() else { return "Location leaves the landing host (\(authority)): \(location)" }
        let afterAuthority = rest[authorityEnd...]
        let pathEnd = afterAuthority.firstIndex { $0 == "?" || $0 == "#" } ?? afterAuthority.endIndex
        let path = resolveDotSegments(String(afterAuthority[..<pathEnd]))
        guard path.hasPrefix("/checkout/") else { return "Location resolves to path \(path), outside /checkout/: \(location)" }
        return nil
    }

    /// RFC 3986 5.2.4 with WHATWG's `%2e` equivalence for dot segments.
    static func resolveDotSegments(_ path: String) -> String {
        var output: [String] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        for (index, segment) in segments.enumerated() {
            let lowered = segment.lowercased().replacingOccurrences(of: "%2e", with: ".")
            let last = index == segments.count - 1
            if lowered == "." {
                if last { output.append("") }
            } else if lowered == ".." {
                if !output.isEmpty { output.removeLast() }
                if last { output.append("") }
            } else {
                output.append(segment)
            }
        }
        return "/" + output.joined(separator: "/")
    }
}
