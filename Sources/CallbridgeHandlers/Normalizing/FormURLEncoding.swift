import CallbridgeCrypto

/// `application/x-www-form-urlencoded` and query-string parsing, and the
/// percent-encoding flavours providers sign with.
public enum FormURLEncoding {
    /// Splits `a=1&b=2` into ordered pairs, decoding `+` as space and `%XX`.
    /// Nil when a `%` escape is malformed or a decoded value is not UTF-8.
    public static func parse(_ text: String) -> [(String, String)]? {
        var pairs: [(String, String)] = []
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = decode(kv[0], plusAsSpace: true) else { return nil }
            let value = kv.count > 1 ? decode(kv[1], plusAsSpace: true) : ""
            guard let value else { return nil }
            pairs.append((key, value))
        }
        return pairs
    }

    /// Percent-decodes once; nil on a malformed escape or invalid UTF-8.
    public static func decode<S: StringProtocol>(_ text: S, plusAsSpace: Bool) -> String? {
        var out = [UInt8]()
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hi = ByteEncoding.hexDigitValue(bytes[i + 1]), let lo = ByteEncoding.hexDigitValue(bytes[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            } else if b == UInt8(ascii: "+") && plusAsSpace {
                out.append(0x20)
                i += 1
            } else {
                out.append(b)
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Encodes like Python's `quote_plus` / HTML form encoding: letters, digits
    /// and `-._~` stay, space becomes `+`, everything else `%XX` (uppercase).
    public static func encodeFormComponent(_ text: String) -> String {
        encode(text, spaceAsPlus: true)
    }

    /// Encodes an RFC 3986 component: letters, digits and `-._~` stay, all else `%XX`.
    public static func encodeComponent(_ text: String) -> String {
        encode(text, spaceAsPlus: false)
    }

    /// Encodes one path segment: like `encodeComponent`, and a value that is
    /// `.` or `..` (a dot segment, which a client would resolve and so move
    /// the request up the path) becomes `%2E` / `%2E%2E`. For URLs sent by
    /// libcurl, which squashes only literal dot segments. Browsers resolve
    /// `%2E` too: see `LandingTemplate` for URLs a browser follows.
    public static func encodePathSegment(_ text: String) -> String {
        isDotSegment(text) ? String(repeating: "%2E", count: text.utf8.count) : encodeComponent(text)
    }

    /// Whether `text` is `.` or `..`.
    public static func isDotSegment(_ text: String) -> Bool {
        text == "." || text == ".."
    }

    /// Fills `{name}` placeholders of a URL template: percent-encoded as a path
    /// segment before the template's `?` or `#`, as a query value after it.
    /// `pathSegment` encodes values in the path (dot segments are the caller's choice).
    public static func fill(_ template: String, _ values: [(placeholder: String, value: String)],
                            pathSegment: (String) -> String = encodePathSegment) -> String {
        let split = template.firstIndex(where: { $0 == "?" || $0 == "#" }) ?? template.endIndex
        var path = String(template[..<split])
        var rest = String(template[split...])
        for (placeholder, value) in values {
            let token = "{" + placeholder + "}"
            path = path.replacingAll(token, with: pathSegment(value))
            rest = rest.replacingAll(token, with: encodeComponent(value))
        }
        return path + rest
    }

    /// Encodes like Java's `URLEncoder.encode(…, UTF-8)`: letters, digits and
    /// `.-*_` stay, space becomes `+`, everything else (`~` too) `%XX`.
    public static func encodeJavaFormComponent(_ text: String) -> String {
        encode(text, spaceAsPlus: true, keepsTilde: false, keepsStar: true)
    }

    static func encode(_ text: String, spaceAsPlus: Bool, keepsTilde: Bool = true, keepsStar: Bool = false) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                out.append(b)
            case UInt8(ascii: "~") where keepsTilde, UInt8(ascii: "*") where keepsStar:
                out.append(b)
            case 0x20 where spaceAsPlus:
                out.append(UInt8(ascii: "+"))
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Renders pairs back to `a=1&b=2` with form encoding.
    public static func render(_ pairs: [(String, String)]) -> String {
        pairs.map { encodeFormComponent($0.0) + "=" + encodeFormComponent($0.1) }.joined(separator: "&")
    }
}
