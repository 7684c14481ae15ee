import CallbridgeHandlers
import CallbridgeModel
import Hummingbird
import NIOCore

// The admin API reads its inputs strictly: a query parameter, path parameter
// or body field that is present but of the wrong type, empty, repeated or
// unknown is a 400 naming it, never read as absent. (A replay that took
// `"dry_run":"yes"` for "not a dry run" sent 30 events for real.) The
// OpenAPI document says the same with `additionalProperties: false`,
// `minLength: 1` and patterns; `AdminAPITests` holds the two together.

extension IngestError {
    static func invalidParameter(_ detail: String) -> IngestError {
        IngestError(status: 400, code: "invalid_parameter", detail: detail)
    }

    static func unknownParameter(_ names: [String], allowed: [String]) -> IngestError {
        IngestError(status: 400, code: "unknown_parameter",
                    detail: "unknown query parameter\(names.count == 1 ? "" : "s") \(AdminText.list(names)); this route takes \(allowed.isEmpty ? "none" : AdminText.list(allowed))")
    }

    static func invalidField(_ detail: String) -> IngestError {
        IngestError(status: 400, code: "invalid_field", detail: detail)
    }

    static func unknownField(_ names: [String], allowed: [String]) -> IngestError {
        IngestError(status: 400, code: "unknown_field",
                    detail: "unknown field\(names.count == 1 ? "" : "s") \(AdminText.list(names)) in the body; this route takes \(allowed.isEmpty ? "none (send {} or no body)" : AdminText.list(allowed))")
    }

    static func invalidRequest(_ detail: String) -> IngestError {
        IngestError(status: 400, code: "invalid_request", detail: detail)
    }
}

enum AdminText {
    /// `'a', 'b'`: names quoted, so an empty or odd name is still visible.
    static func list(_ names: [String]) -> String {
        names.map { "'\(printable($0))'" }.joined(separator: ", ")
    }

    /// A client-supplied name made safe to quote in a detail: control
    /// characters escaped, at most 64 characters.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(64) {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > 64 ? out + "…" : out
    }

    /// What a JSON value is, for "must be a boolean, got a string".
    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// An admin route path such as `/admin/v1/events/{id}/replay`, matched
/// segment by segment against the raw (still percent-encoded) request path.
/// Parameters are captured raw and decoded by `AdminPathParameters`, so a
/// segment that is not valid percent-encoded UTF-8 still reaches its route
/// and gets a 400 naming the parameter instead of an undocumented 404.
struct AdminPathPattern: Sendable {
    enum Segment: Sendable {
        case literal(String)
        case parameter(String)
    }

    let segments: [Segment]

    init(_ path: String) {
        segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
    }

    /// Raw parameter values when `path` has exactly this shape (no empty
    /// segments, no trailing slash), else nil.
    func match(_ path: String) -> AdminPathParameters? {
        guard path.hasPrefix("/") else { return nil }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard parts.count == segments.count else { return nil }
        var raw: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal):
                guard part == literal else { return nil }
            case .parameter(let name):
                guard !part.isEmpty else { return nil }
                raw[name] = String(part)
            }
        }
        return AdminPathParameters(raw: raw)
    }
}

struct AdminPathParameters: Sendable {
    let raw: [String: String]

    /// The decoded value of path parameter `name`.
    func string(_ name: String) throws -> String {
        guard let text = raw[name] else { throw IngestError.invalidParameter("the path has no parameter '\(name)'") }
        guard let decoded = FormURLEncoding.decode(text, plusAsSpace: false) else {
            throw IngestError.invalidParameter("path parameter '\(name)' is not valid percent-encoded UTF-8")
        }
        return decoded
    }

    func eventID(_ name: String) throws -> EventID {
        let text = try string(name)
        guard let id = EventID(text) else {
            throw IngestError.invalidParameter("path parameter '\(name)' must be an event id (evt_ and 26 Crockford base32 characters), got '\(AdminText.printable(text))'")
        }
        return id
    }
}

/// The query string of an admin request, checked against the names its
/// route takes: unknown, repeated or empty parameters are refused.
///
/// Empty values (`?cursor=`) are refused rather than read as absent: an
/// empty value usually means a client filled in a variable it did not have,
/// and guessing what it meant is how a filter silently disappears. The
/// document says `minLength: 1` (or a pattern) for every query parameter.
struct AdminQuery: Sendable {
    let values: [String: String]

    init(_ query: String?, allowed: [String]) throws {
        guard let pairs = FormURLEncoding.parse(query ?? "") else {
            throw IngestError.invalidParameter("the query string is not valid percent-encoded UTF-8")
        }
        let unknown = pairs.map(\.0).filter { !allowed.contains($0) }
        if !unknown.isEmpty {
            var seen: Set<String> = []
            throw IngestError.unknownParameter(unknown.filter { seen.insert($0).inserted }, allowed: allowed)
        }
        var values: [String: String] = [:]
        for (name, value) in pairs {
            guard values[name] == nil else { throw IngestError.invalidParameter("query parameter '\(name)' is given more than once") }
            guard !value.isEmpty else {
                throw IngestError.invalidParameter("query parameter '\(name)' is empty; leave it out instead")
            }
            values[name] = value
        }
        self.values = values
    }

    func string(_ name: String) -> String? { values[name] }

    /// A decimal integer in `range` (digits only: no sign, no spaces).
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard text.utf8.count <= 18, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(text), range.contains(value) else {
            throw IngestError.invalidParameter("query parameter '\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(AdminText.printable(text))'")
        }
        return value
    }

    func eventID(_ name: String, what: String) throws -> EventID? {
        guard let text = values[name] else { return nil }
        guard let id = EventID(text) else {
            throw IngestError.invalidParameter("query parameter '\(name)' must be \(what), got '\(AdminText.printable(text))'")
        }
        return id
    }

    func oneOf<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = values[name] else { return nil }
        guard let value = T(rawValue: text) else {
            throw IngestError.invalidParameter("query parameter '\(name)' must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), got '\(AdminText.printable(text))'")
        }
        return value
    }
}

/// A JSON object request body read field by field with the type each field
/// must have. A field that is present with another type (null included) is a
/// 400 naming it; fields the route does not take are refused, as are
/// repeated members (parsers disagree on which one wins).
struct AdminBody: Sendable {
    /// Admin bodies are small selections; anything bigger is a mistake.
    static let limit = 1 << 20
    static let maxEventIDs = 1000

    let members: [String: JSONValue]

    init(members: [String: JSONValue]) {
        self.members = members
    }

    /// Reads `request`'s body: none (or zero bytes) is `{}` unless `required`;
    /// otherwise it must be `application/json` holding one JSON object.
    static func read(_ request: Request, fields allowed: [String], required: Bool) async throws -> AdminBody {
        // 413 over the limit, 408 past the body deadline, 400 for a body that broke off.
        let buffer = try await RequestBodyReader.collect(request, upTo: limit)
        guard buffer.readableBytes > 0 else {
            if required { throw IngestError.malformedBody("this route needs a JSON object body") }
            return AdminBody(members: [:])
        }
        let contentType = request.headers[.contentType]
        guard let contentType, isJSON(contentType) else {
            throw IngestError.unsupportedMediaType(contentType, expected: "application/json")
        }
        return try parse(Array(buffer: buffer), fields: allowed)
    }

    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { String($0).trimmingSpaces().lowercased() } ?? ""
        return mediaType == "application/json"
    }

    static func parse(_ bytes: [UInt8], fields allowed: [String]) throws -> AdminBody {
        let value: JSONValue
        do {
            value = try JSONParser().parse(bytes)
        } catch {
            throw IngestError.malformedBody("the body is not valid JSON: \(error)")
        }
        guard case .object(let pairs) = value else {
            throw IngestError.malformedBody("the body must be a JSON object, got \(AdminText.kind(value))")
        }
        var members: [String: JSONValue] = [:]
        var unknown: [String] = []
        for (name, member) in pairs {
            guard allowed.contains(name) else {
                if !unknown.contains(name) { unknown.append(name) }
                continue
            }
            guard members[name] == nil else { throw IngestError.invalidField("field '\(name)' is given more than once") }
            members[name] = member
        }
        if !unknown.isEmpty { throw IngestError.unknownField(unknown, allowed: allowed) }
        return AdminBody(members: members)
    }

    func wrongType(_ name: String, _ expected: String, _ value: JSONValue) -> IngestError {
        .invalidField("field '\(name)' must be \(expected), got \(AdminText.kind(value))")
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = members[name] else { return nil }
        guard case .bool(let flag) = value else { throw wrongType(name, "a boolean (true or false)", value) }
        return flag
    }

    /// A non-empty string.
    func string(_ name: String) throws -> String? {
        guard let value = members[name] else { return nil }
        guard case .string(let text) = value else { throw wrongType(name, "a string", value) }
        guard !text.isEmpty else { throw IngestError.invalidField("field '\(name)' is empty; leave it out instead") }
        return text
    }

    func oneOf<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
        guard let value = members[name] else { return nil }
        guard case .string(let text) = value else { throw wrongType(name, "a string, one of \(allowed)", value) }
        guard let parsed = T(rawValue: text) else {
            throw IngestError.invalidField("field '\(name)' must be one of \(allowed), got '\(AdminText.printable(text))'")
        }
        return parsed
    }

    /// An RFC 3339 date-time (see `AdminTime`).
    func time(_ name: String) throws -> Timestamp? {
        guard let value = members[name] else { return nil }
        guard case .string(let text) = value else { throw wrongType(name, "an RFC 3339 date-time string", value) }
        guard let time = AdminTime.parse(text) else {
            throw IngestError.invalidField("field '\(name)' must be an RFC 3339 date-time such as 2026-11-23T10:00:00Z, got '\(AdminText.printable(text))'")
        }
        return time
    }

    /// A non-empty array of at most `maxEventIDs` event ids.
    func eventIDs(_ name: String) throws -> [EventID]? {
        guard let value = members[name] else { return nil }
        guard case .array(let items) = value else { throw wrongType(name, "an array of event ids", value) }
        guard (1...AdminBody.maxEventIDs).contains(items.count) else {
            throw IngestError.invalidField("field '\(name)' must hold 1 to \(AdminBody.maxEventIDs) event ids, got \(items.count)")
        }
        return try items.enumerated().map { index, item in
            guard case .string(let text) = item else { throw wrongType("\(name)[\(index)]", "an event id string", item) }
            guard let id = EventID(text) else {
                throw IngestError.invalidField("field '\(name)[\(index)]' must be an event id (evt_ and 26 Crockford base32 characters), got '\(AdminText.printable(text))'")
            }
            return id
        }
    }
}

/// RFC 3339 `date-time` exactly as its grammar (section 5.6) and JSON
/// Schema's `format: date-time` have it: `T` (or `t`) between date and time,
/// seconds required, a `Z` or `±hh:mm` offset required, offsets up to ±23:59,
/// a leap second only at 23:59:60 UTC. Stricter than `Timestamp(rfc3339:)`,
/// which also takes a space, a missing offset and surrounding spaces from
/// providers. Instants beyond years 0001-9999 clamp to the nearest end,
/// which as a `since`/`until` bound selects the same events; fractions
/// beyond milliseconds are dropped.
enum AdminTime {
    static func parse(_ text: String) -> Timestamp? {
        let b = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var value = 0
            for byte in b[start..<(start + count)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        func byte(_ index: Int, _ allowed: String) -> Bool { index < b.count && allowed.utf8.contains(b[index]) }
        guard let year = digits(0, 4), byte(4, "-"), let month = digits(5, 2), byte(7, "-"), let day = digits(8, 2), byte(10, "Tt"),
              let hour = digits(11, 2), byte(13, ":"), let minute = digits(14, 2), byte(16, ":"), let second = digits(17, 2)
        else { return nil }
        var i = 19
        var millisecond = 0
        if byte(i, ".") {
            i += 1
            let start = i
            while i < b.count, (0x30...0x39).contains(b[i]) {
                if i - start < 3 { millisecond = millisecond * 10 + Int(b[i] - 0x30) }
                i += 1
            }
            guard i > start else { return nil }
            for _ in min(i - start, 3)..<3 { millisecond *= 10 }
        }
        var offsetMinutes = 0
        if byte(i, "Zz") {
            i += 1
        } else if byte(i, "+-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            guard let offsetHour = digits(i + 1, 2), byte(i + 3, ":"), let offsetMinute = digits(i + 4, 2), offsetHour < 24, offsetMinute < 60 else { return nil }
            offsetMinutes = sign * (offsetHour * 60 + offsetMinute)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let leapYear = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthLengths = [31, leapYear ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), (1...monthLengths[month - 1]).contains(day), hour < 24, minute < 60, second <= 60 else { return nil }
        if second == 60 {
            // A leap second is the last second of a UTC day.
            let utcMinute = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            guard utcMinute == 23 * 60 + 59 else { return nil }
        }
        // Year 0000 is as long as year 0400 (both leap), 146 097 days earlier.
        let shifted = year == 0
        let date = (shifted ? "0400" : String(decoding: b[0..<4], as: UTF8.self)) + String(decoding: b[4..<10], as: UTF8.self)
        guard let midnight = Timestamp(rfc3339: date + "T00:00:00Z") else { return nil }
        var milliseconds = midnight.millisecondsSinceEpoch - (shifted ? 146_097 * 86_400_000 : 0)
        milliseconds += Int64((hour * 60 + minute - offsetMinutes) * 60 + min(second, 59)) * 1000 + Int64(millisecond)
        return Timestamp(millisecondsSinceEpoch: milliseconds)
    }
}
