import CallbridgeModel
import Yams

/// A configuration problem, located by file, line, column and key path, e.g.
/// `handlers/juspay.yaml:14:9: routes[0].verify[0].type: unknown verifier 'hmc'`.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var keyPath: String
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, keyPath: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.message = message
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        return keyPath.isEmpty ? "\(location): \(message)" : "\(location): \(keyPath): \(message)"
    }
}

/// A node of a parsed YAML configuration file that remembers where it came
/// from, so every validation error names the file, the position and the key.
/// Readers are strict: wrong types and unknown keys are errors, not ignored.
public struct ConfigNode {
    public let node: Node
    public let file: String
    public let keyPath: String

    public init(node: Node, file: String, keyPath: String = "") {
        self.node = node
        self.file = file
        self.keyPath = keyPath
    }

    /// Parses a whole YAML document; an empty document is an empty mapping.
    public static func parse(yaml: String, file: String) throws(ConfigError) -> ConfigNode {
        do {
            let node = try Yams.compose(yaml: yaml) ?? Node.mapping(Node.Mapping([]))
            return ConfigNode(node: node, file: file)
        } catch {
            let firstLine = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            throw ConfigError(file: file, keyPath: "", message: "not valid YAML: \(firstLine)")
        }
    }

    public func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: node.mark?.line, column: node.mark?.column, keyPath: keyPath, message: message)
    }

    func child(_ node: Node, key: String) -> ConfigNode {
        ConfigNode(node: node, file: file, keyPath: keyPath.isEmpty ? key : "\(keyPath).\(key)")
    }

    public var isNull: Bool {
        if case .scalar(let s) = node { return s.tag == Tag(.null) || (s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string)) }
        return false
    }

    /// The members of a mapping, in file order.
    public func members() throws(ConfigError) -> [(String, ConfigNode)] {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping (key: value pairs)") }
        var out: [(String, ConfigNode)] = []
        for (key, value) in mapping {
            guard let name = key.string else { throw error("mapping keys must be strings") }
            out.append((name, child(value, key: name)))
        }
        return out
    }

    public func optional(_ key: String) throws(ConfigError) -> ConfigNode? {
        guard let found = try members().first(where: { $0.0 == key })?.1, !found.isNull else { return nil }
        return found
    }

    public func required(_ key: String) throws(ConfigError) -> ConfigNode {
        guard let found = try optional(key) else { throw error("missing required key '\(key)'") }
        return found
    }

    /// Fails on keys outside `allowed`, naming the offender and the valid keys.
    public func rejectUnknownKeys(_ allowed: Set<String>) throws(ConfigError) {
        for (key, value) in try members() where !allowed.contains(key) {
            throw value.error("unknown key '\(key)' (expected one of: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    public func string() throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw error("expected a text value") }
        return scalar.string
    }

    /// A scalar or a sequence of scalars, as a list.
    public func strings() throws(ConfigError) -> [String] {
        if case .sequence = node { return try elements().map { (n) throws(ConfigError) -> String in try n.string() } }
        return [try string()]
    }

    public func elements() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.enumerated().map { index, element in
            ConfigNode(node: element, file: file, keyPath: "\(keyPath)[\(index)]")
        }
    }

    public func int(in range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
        guard let value = Int(try string()) else { throw error("expected a whole number") }
        if let range, !range.contains(value) { throw error("must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    public func bool() throws(ConfigError) -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false")
        }
    }

    /// A duration such as `500ms`, `5s`, `5m`, `2h`.
    public func duration() throws(ConfigError) -> ConfigDuration {
        let text = try string()
        guard let value = ConfigDuration(parsing: text) else {
            throw error("'\(text)' is not a duration of at most \(ConfigDuration.maximum) (write it like 500ms, 5s, 5m, 2h)")
        }
        return value
    }

    /// One of a fixed set of words.
    public func oneOf<T: RawRepresentable>(_ type: T.Type, _ allowed: [T]) throws(ConfigError) -> T where T.RawValue == String {
        let text = try string()
        guard let value = T(rawValue: text), allowed.map(\.rawValue).contains(text) else {
            throw error("'\(text)' is not valid (expected one of: \(allowed.map(\.rawValue).joined(separator: ", ")))")
        }
        return value
    }
}
