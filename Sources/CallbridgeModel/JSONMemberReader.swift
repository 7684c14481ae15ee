/// Reads the members of a JSON object Callbridge wrote itself (an envelope's
/// `data`, a ledger row, a status-check row) strictly: a member of the wrong
/// kind is an error naming `prefix.key`, never read as absent.
///
/// Invariant: absent and `null` are the same (nil); anything else must be
/// the kind asked for.
struct JSONMemberReader {
    let json: JSONValue
    let prefix: String

    private func invalid(_ key: String) -> EventDecodingError { .invalid("\(prefix).\(key)") }

    func text(_ key: String) throws(EventDecodingError) -> String? {
        switch json[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw invalid(key)
        }
    }

    func time(_ key: String) throws(EventDecodingError) -> Timestamp? {
        guard let t = try text(key) else { return nil }
        guard let ts = Timestamp(rfc3339: t) else { throw invalid(key) }
        return ts
    }

    func amount(_ key: String) throws(EventDecodingError) -> DecimalAmount? {
        guard let t = try text(key) else { return nil }
        guard let a = DecimalAmount(t) else { throw invalid(key) }
        return a
    }

    func currency(_ key: String) throws(EventDecodingError) -> CurrencyCode? {
        guard let t = try text(key) else { return nil }
        guard let c = CurrencyCode(t) else { throw invalid(key) }
        return c
    }

    /// A non-negative integer, or nil when absent or null.
    func count(_ key: String) throws(EventDecodingError) -> Int64? {
        switch json[key] {
        case nil, .null?: return nil
        case .number(let n)?:
            guard let v = Int64(n), v >= 0 else { throw invalid(key) }
            return v
        default: throw invalid(key)
        }
    }

    /// A non-negative integer that must be there.
    func requiredCount(_ key: String) throws(EventDecodingError) -> Int64 {
        guard let v = try count(key) else { throw invalid(key) }
        return v
    }
}
