/// Makes text from the log safe to print for an operator: provider requests
/// and endpoint answers are untrusted, and an ESC sequence in an order id
/// could clear the terminal or forge lines. Control characters (C0, DEL, C1)
/// and the Unicode bidirectional overrides are printed as `\u{…}` escapes;
/// everything else is printed as it is. The `--json` outputs are already
/// safe (the JSON renderer escapes the same characters).
enum TerminalText {
    /// - Parameter keepingLineBreaks: keep `\n` and `\t` (a raw body printed on its own lines).
    static func escape(_ text: String, keepingLineBreaks: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if keepingLineBreaks, scalar == "\n" || scalar == "\t" {
                out.unicodeScalars.append(scalar)
            } else if isUnsafe(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true  // direction marks and overrides
        case 0x2028, 0x2029: return true  // line and paragraph separators
        default: return false
        }
    }
}
