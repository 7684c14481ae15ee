/// A strict parser of the Prometheus text exposition format (version 0.0.4),
/// for tests: every line must be `# HELP name text`, `# TYPE name kind` or a
/// sample `name{label="value",…} value [timestamp]` of a family declared
/// before it; anything else is an error naming the line.
public struct PrometheusExposition: Sendable {
    /// One sample line.
    public struct Sample: Sendable, Hashable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    /// A line the parser refused, with its 1-based number.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var text: String
        public var problem: String
        public var description: String { "line \(line): \(problem): \(text)" }
    }

    public private(set) var samples: [Sample] = []
    /// Family name → `counter`, `gauge`, `histogram`, `summary` or `untyped`.
    public private(set) var types: [String: String] = [:]
    public private(set) var help: [String: String] = [:]

    public init(parsing text: String) throws(ParseError) {
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            lineNumber += 1
            func fail(_ problem: String) -> ParseError { ParseError(line: lineNumber, text: line, problem: problem) }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 3, parts[0] == "#", Self.isMetricName(parts[2]) else { throw fail("malformed comment line") }
                switch parts[1] {
                case "HELP":
                    guard help[parts[2]] == nil else { throw fail("second HELP for \(parts[2])") }
                    help[parts[2]] = parts.count > 3 ? parts[3] : ""
                case "TYPE":
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                        throw fail("unknown metric type")
                    }
                    guard types[parts[2]] == nil else { throw fail("second TYPE for \(parts[2])") }
                    guard !samples.contains(where: { Self.family(of: $0.name, types: [parts[2]: parts[3]]) == parts[2] }) else {
                        throw fail("TYPE after samples of \(parts[2])")
                    }
                    types[parts[2]] = parts[3]
                default:
                    throw fail("only HELP and TYPE comments are expected")
                }
                continue
            }
            guard let sample = Self.parseSample(line) else { throw fail("malformed sample") }
            guard let family = Self.family(of: sample.name, types: types) else { throw fail("sample of an undeclared metric") }
            if types[family] == "histogram", sample.name.hasSuffix("_bucket"), sample.labels["le"] == nil {
                throw fail("histogram bucket without le")
            }
            samples.append(sample)
        }
    }

    /// The value of the sample with exactly this name and these labels.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// The family a sample name belongs to (`x_bucket` → `x` for a histogram).
    static func family(of name: String, types: [String: String]) -> String? {
        if types[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let kind = types[base], kind == "histogram" || (kind == "summary" && suffix != "_bucket") { return base }
        }
        return nil
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetter || first == "_" || first == ":" else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == ":" }
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.isASCIILetter || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" }
    }

    static func parseValue(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }

    static func parseSample(_ line: String) -> Sample? {
        let scalars = Array(line.unicodeScalars)
        var index = 0
        while index < scalars.count, scalars[index] != "{", scalars[index] != " " { index += 1 }
        let name = String(String.UnicodeScalarView(scalars[0..<index]))
        guard isMetricName(name) else { return nil }
        var labels: [String: String] = [:]
        if index < scalars.count, scalars[index] == "{" {
            index += 1
            while index < scalars.count, scalars[index] != "}" {
                var labelEnd = index
                while labelEnd < scalars.count, scalars[labelEnd] != "=" { labelEnd += 1 }
                let label = String(String.UnicodeScalarView(scalars[index..<labelEnd]))
                guard isLabelName(label), labelEnd + 1 < scalars.count, scalars[labelEnd + 1] == "\"", labels[label] == nil else { return nil }
                index = labelEnd + 2
                var value = ""
                var closed = false
                while index < scalars.count {
                    let c = scalars[index]
                    if c == "\\" {
                        guard index + 1 < scalars.count else { return nil }
                        switch scalars[index + 1] {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: return nil
                        }
                        index += 2
                    } else if c == "\"" {
                        closed = true
                        index += 1
                        break
                    } else {
                        value.unicodeScalars.append(c)
                        index += 1
                    }
                }
                guard closed else { return nil }
                labels[label] = value
                if index < scalars.count, scalars[index] == "," { index += 1 }
            }
            guard index < scalars.count else { return nil }
            index += 1  // "}"
        }
        let rest = String(String.UnicodeScalarView(scalars[index...]))
        guard rest.hasPrefix(" ") else { return nil }
        let fields = rest.split(separator: " ")
        guard fields.count == 1 || fields.count == 2, let value = parseValue(fields[0]) else { return nil }
        if fields.count == 2, Int64(fields[1]) == nil { return nil }
        return Sample(name: name, labels: labels, value: value)
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
