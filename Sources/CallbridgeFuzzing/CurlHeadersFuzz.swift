import CallbridgeTransport

/// `ResponseHeaderLines.apply`: the input is split into lines after each LF
/// (as libcurl hands them over, line ending included) and applied in order.
/// Collected names are lowercased, non-empty and colon-free; values carry no
/// surrounding blanks; never more than the limit; a status line clears them.
enum CurlHeadersFuzz {
    static let limit = 16

    static func run(_ bytes: [UInt8]) {
        var headers: [(String, String)] = []
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            if end < bytes.count { end += 1 }
            let line = bytes[start..<end]
            // Half the time through the raw buffer type the callback really gets.
            if line.count % 2 == 0 {
                ResponseHeaderLines.apply(line, to: &headers, limit: limit)
            } else {
                Array(line).withUnsafeBytes { ResponseHeaderLines.apply($0, to: &headers, limit: limit) }
            }
            if line.starts(with: "HTTP/".utf8) { invariant(headers.isEmpty, "a status line did not clear the headers") }
            start = end
        }
        invariant(headers.count <= limit, "\(headers.count) headers kept, limit \(limit)")
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        for (name, value) in headers {
            invariant(!name.isEmpty, "an empty header name")
            invariant(!name.contains(":"), "a header name with a colon: \(describe(name))")
            invariant(sameScalars(name, name.lowercased()), "a header name not lowercased: \(describe(name))")
            invariant(value.first.map(blank) != true && value.last.map(blank) != true, "a value with surrounding blanks: \(describe(value))")
            invariant(!name.unicodeScalars.contains("\n"), "a line feed in a header name")
        }
    }
}
