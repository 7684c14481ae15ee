import Foundation
import Testing

/// The repository explains itself from a clone alone: every relative link in
/// README.md and docs/**/*.md leads to a file or folder inside the
/// repository, and every command line the README's "## Commands" section
/// shows names subcommands the built binary has.
@Suite struct DocumentationTests {
    /// README.md and every Markdown file under docs/, relative to the repository root.
    static func documentationFiles() -> [String] {
        var files = ["README.md"]
        let docs = repositoryRoot + "/docs"
        if let walker = FileManager.default.enumerator(atPath: docs) {
            for case let path as String in walker where path.hasSuffix(".md") {
                files.append("docs/" + path)
            }
        }
        return files.sorted()
    }

    @Test func everyRelativeLinkResolvesInsideTheRepository() throws {
        let files = Self.documentationFiles()
        #expect(files.contains("docs/ARCHITECTURE.md"), "docs/ARCHITECTURE.md is missing")
        #expect(files.contains("docs/OPERATIONS.md"), "docs/OPERATIONS.md is missing")
        #expect(files.contains("docs/HANDLERS.md"), "docs/HANDLERS.md is missing")
        var checked = 0
        for file in files {
            let text = try String(contentsOfFile: repositoryRoot + "/" + file, encoding: .utf8)
            let links = MarkdownLinks.targets(in: text)
            checked += links.count
            for problem in MarkdownLinks.problems(links: links, inFile: file, root: repositoryRoot) {
                Issue.record("\(file): \(problem)")
            }
        }
        #expect(checked > 0, "no links found at all: the link reader is broken")
    }

    @Test func theLinkCheckerReportsBrokenAndEscapingLinks() {
        let text = """
            [ok](README.md) [gone](docs/NOPE.md) [up](../outside.md) ![img](docs/missing.png)
            [web](https://example.com/x) [mail](mailto:a@b.c) [anchor](#contents) [frag](README.md#set-up)
            [abs](/etc/passwd)
            `[in code](not-a-link.md)`

            ```
            [fenced](also-not-a-link.md)
            ```
            [ref]: docs/ALSO_GONE.md
            """
        let links = MarkdownLinks.targets(in: text)
        #expect(links == ["README.md", "docs/NOPE.md", "../outside.md", "docs/missing.png", "https://example.com/x",
                          "mailto:a@b.c", "#contents", "README.md#set-up", "/etc/passwd", "docs/ALSO_GONE.md"])
        let problems = MarkdownLinks.problems(links: links, inFile: "README.md", root: repositoryRoot)
        #expect(problems.count == 5, "\(problems)")
        #expect(problems.contains { $0.contains("docs/NOPE.md") })
        #expect(problems.contains { $0.contains("../outside.md") && $0.contains("outside the repository") })
        #expect(problems.contains { $0.contains("docs/missing.png") })
        #expect(problems.contains { $0.contains("/etc/passwd") && $0.contains("outside the repository") })
        #expect(problems.contains { $0.contains("docs/ALSO_GONE.md") })
    }

    @Test func everyCommandTheReadmeListsExists() throws {
        let readme = try String(contentsOfFile: repositoryRoot + "/README.md", encoding: .utf8)
        let lines = ReadmeCommands.commandLines(in: readme)
        #expect(lines.count >= 10, "found only \(lines.count) command lines in README's \"## Commands\" section")
        let paths = Set(lines.flatMap(ReadmeCommands.subcommandPaths)).sorted { $0.joined(separator: " ") < $1.joined(separator: " ") }
        #expect(!paths.isEmpty)
        var helpOf: [[String]: CommandResult] = [:]
        func help(_ path: [String]) throws -> CommandResult {
            if let known = helpOf[path] { return known }
            let result = try runCallbridge(path + ["--help"], environment: [:], directory: repositoryRoot)
            helpOf[path] = result
            return result
        }
        for path in paths {
            let shown = (["callbridge"] + path).joined(separator: " ")
            let result = try help(path)
            #expect(result.status == 0, "`\(shown) --help` exited \(result.status): \(result.output.prefix(300))")
            // Each step must be a subcommand its parent lists, not a word a
            // parent happened to take as an argument.
            for depth in 1...path.count {
                let parent = Array(path.prefix(depth - 1))
                let child = path[depth - 1]
                let parentHelp = try help(parent)
                #expect(ReadmeCommands.lists(child, in: parentHelp.output),
                        "`\((["callbridge"] + parent).joined(separator: " ")) --help` lists no subcommand '\(child)' (README: \(shown))")
            }
        }
    }

    @Test func theCommandReaderFindsSubcommandPaths() {
        let readme = """
            # X
            ## Commands

            ```
            callbridge serve [--config FILE]
            callbridge endpoints enable|disable NAME [--config FILE]
            callbridge simulate serve-status PROVIDER --port N
            callbridge secret new
            ```
            `callbridge replay` sends …
            ## Configuration
            callbridge notacommand
            """
        let lines = ReadmeCommands.commandLines(in: readme)
        #expect(lines.count == 4)
        #expect(lines.flatMap(ReadmeCommands.subcommandPaths) == [
            ["serve"], ["endpoints", "enable"], ["endpoints", "disable"], ["simulate", "serve-status"], ["secret", "new"],
        ])
        #expect(ReadmeCommands.lists("serve-status", in: "SUBCOMMANDS:\n  send (default)   Send it.\n  serve-status     Serve it.\n"))
        #expect(!ReadmeCommands.lists("serve", in: "SUBCOMMANDS:\n  serve-status     Serve it.\n"))
        #expect(!ReadmeCommands.lists("deliveries", in: "SUBCOMMANDS:\n  prune            Delete events whose\n                   deliveries all succeeded.\n"))
    }
}

/// Link targets of Markdown text, and what is wrong with them.
enum MarkdownLinks {
    /// `[text](target)`, `![alt](target)` and `[label]: target`, outside code
    /// spans and fenced blocks (Markdown renders no links there), in order.
    static func targets(in text: String) -> [String] {
        var prose: [String] = []
        var fenced = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fenced.toggle()
                continue
            }
            if !fenced { prose.append(stripCodeSpans(String(line))) }
        }
        var found: [String] = []
        let inline = try! NSRegularExpression(pattern: #"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)"#)
        let definition = try! NSRegularExpression(pattern: #"^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?"#)
        for line in prose {
            let range = NSRange(line.startIndex..., in: line)
            var matches = inline.matches(in: line, range: range)
            matches += definition.matches(in: line, range: range)
            for match in matches.sorted(by: { $0.range.location < $1.range.location }) {
                if let target = Range(match.range(at: 1), in: line) { found.append(String(line[target])) }
            }
        }
        return found
    }

    /// The line without its `code spans`.
    static func stripCodeSpans(_ line: String) -> String {
        var out = ""
        var inCode = false
        for character in line {
            if character == "`" {
                inCode.toggle()
                continue
            }
            if !inCode { out.append(character) }
        }
        return out
    }

    /// One message per link in `inFile` (a path relative to `root`) that is
    /// relative and does not lead to an existing file or folder inside `root`.
    static func problems(links: [String], inFile file: String, root: String) -> [String] {
        let rootURL = URL(fileURLWithPath: root).standardizedFileURL
        let base = URL(fileURLWithPath: root + "/" + file).deletingLastPathComponent()
        var problems: [String] = []
        for link in links {
            let lower = link.lowercased()
            if lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("mailto:") || link.hasPrefix("#") { continue }
            var path = link
            if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
            if let query = path.firstIndex(of: "?") { path = String(path[..<query]) }
            path = path.removingPercentEncoding ?? path
            guard !path.isEmpty else { continue }
            if path.contains("://") {
                problems.append("link (\(link)) uses a scheme other than http(s) or mailto")
                continue
            }
            let resolved = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)).standardizedFileURL
            guard resolved.path == rootURL.path || resolved.path.hasPrefix(rootURL.path + "/") else {
                problems.append("link (\(link)) leads outside the repository (\(resolved.path))")
                continue
            }
            if !FileManager.default.fileExists(atPath: resolved.path) {
                problems.append("link (\(link)) leads to \(resolved.path.dropFirst(rootURL.path.count + 1)), which does not exist")
            }
        }
        return problems
    }
}

/// The command lines of README's "## Commands" section.
enum ReadmeCommands {
    /// Lines of the section (up to the next `## ` heading) that start with `callbridge `.
    static func commandLines(in readme: String) -> [String] {
        var inSection = false
        var lines: [String] = []
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") {
                inSection = line.trimmingCharacters(in: .whitespaces) == "## Commands"
                continue
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if inSection, trimmed.hasPrefix("callbridge ") { lines.append(trimmed) }
        }
        return lines
    }

    /// The subcommand words after `callbridge`, up to the first argument,
    /// option or placeholder; `a|b` gives one path per alternative.
    static func subcommandPaths(_ line: String) -> [[String]] {
        var paths: [[String]] = [[]]
        for word in line.split(separator: " ").dropFirst() {
            let alternatives = word.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            let isSubcommand = alternatives.allSatisfy { name in
                guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
                return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
            }
            guard isSubcommand else { break }
            paths = paths.flatMap { path in alternatives.map { path + [$0] } }
        }
        return paths.filter { !$0.isEmpty }
    }

    /// Whether a `--help` text's SUBCOMMANDS section lists `name`.
    static func lists(_ name: String, in help: String) -> Bool {
        var inSubcommands = false
        for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("SUBCOMMANDS:") {
                inSubcommands = true
                continue
            }
            guard inSubcommands else { continue }
            if !line.isEmpty, !line.hasPrefix(" ") { inSubcommands = false; continue }
            // A subcommand starts its line after two spaces; a wrapped abstract is indented further.
            guard line.hasPrefix("  "), line.dropFirst(2).first != " " else { continue }
            if line.split(separator: " ").first.map(String.init) == name { return true }
        }
        return false
    }
}
