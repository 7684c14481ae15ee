/// How response header lines from libcurl's header callback become
/// ``TransportResponse/headers``: pure, so it can be tested and fuzzed without
/// a transfer (scripts/fuzz.sh curl_headers).
package enum ResponseHeaderLines {
    /// Applies one header line (CRLF included) to the headers collected so far.
    /// A status line (`HTTP/…`) starts a new response (after `100 Continue` or
    /// a proxy's `CONNECT` answer), so it clears them; a line without a name
    /// and a colon is ignored, and so is every field past `limit`. Names are
    /// lowercased, values trimmed of spaces and tabs.
    package static func apply<Line: BidirectionalCollection<UInt8>>(_ bytes: Line, to headers: inout [(String, String)], limit: Int) {
        var line = bytes[...]
        while let last = line.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: "\n") {
            line = line.dropLast()
        }
        if line.starts(with: "HTTP/".utf8) {
            headers.removeAll(keepingCapacity: true)
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon != line.startIndex, headers.count < limit else { return }
        let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        var value = line[line.index(after: colon)...]
        while let first = value.first, isBlank(first) { value = value.dropFirst() }
        while let last = value.last, isBlank(last) { value = value.dropLast() }
        let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
        headers.append((name, String(decoding: value, as: UTF8.self)))
    }
}
