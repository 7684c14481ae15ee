import CallbridgeModel

/// A secret named in configuration without its value: `${ENV_VAR}` or
/// `file:/path/to/secret`. Handler files may hold only references, never
/// literal secrets (docs/ARCHITECTURE.md).
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    case environment(String)
    case file(String)

    /// Parses `${NAME}` or `file:PATH`; nil for anything else (a literal).
    public init?(_ text: String) {
        let t = text.trimmingSpaces()
        if t.hasPrefix("${"), t.hasSuffix("}"), t.count > 3 {
            let name = String(t.dropFirst(2).dropLast())
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
            self = .environment(name)
        } else if t.hasPrefix("file:"), t.count > 5 {
            self = .file(String(t.dropFirst(5)))
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .environment(let name): return "${\(name)}"
        case .file(let path): return "file:\(path)"
        }
    }
}

/// Where secret references are resolved: the process environment and files.
/// Passed explicitly (never read from globals inside the handlers) so tests can
/// supply their own values.
public struct SecretSource: Sendable {
    public var environment: [String: String]
    public var readFile: @Sendable (String) -> String?

    public init(environment: [String: String], readFile: @escaping @Sendable (String) -> String? = SecretSource.readTextFile) {
        self.environment = environment
        self.readFile = readFile
    }

    /// The referenced value with one trailing newline removed; nil if unset or empty.
    public func resolve(_ reference: SecretReference) -> String? {
        let value: String?
        switch reference {
        case .environment(let name): value = environment[name]
        case .file(let path): value = readFile(path).map { $0.hasSuffix("\n") ? String($0.dropLast()) : $0 }
        }
        guard let value, !value.isEmpty else { return nil }
        return value
    }

    /// Expands `${NAME}` and `${NAME:-default}` inside a non-secret string such
    /// as a landing template. Unset names without a default are reported.
    public func interpolate(_ text: String) -> (String, missing: [String]) {
        var out = ""
        var missing: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                out += rest[start.lowerBound...]
                rest = ""
                break
            }
            let inner = rest[start.upperBound..<end]
            let name: Substring
            var fallback: Substring?
            if let sep = inner.range(of: ":-") {
                name = inner[..<sep.lowerBound]
                fallback = inner[sep.upperBound...]
            } else {
                name = inner
            }
            if let value = environment[String(name)], !value.isEmpty {
                out += value
            } else if let fallback {
                out += fallback
            } else {
                missing.append(String(name))
            }
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        return (out, missing)
    }

    public static let readTextFile: @Sendable (String) -> String? = { path in
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 20 { return nil }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
