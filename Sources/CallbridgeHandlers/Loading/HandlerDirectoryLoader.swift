import CallbridgeModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads every `*.yaml` / `*.yml` handler file of a folder (sorted by name;
/// `*.yaml.example` files are documentation and skipped) and reports every
/// problem at once, for `callbridge handlers check` and server start-up.
public struct HandlerDirectoryLoader {
    public var directory: String
    public var secrets: SecretSource

    public init(directory: String, secrets: SecretSource) {
        self.directory = directory
        self.secrets = secrets
    }

    /// All problems found while loading a folder.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var errors: [ConfigError]
        public var description: String { errors.map(\.description).joined(separator: "\n") }
    }

    public func load() throws(Failure) -> HandlerSet {
        let files: [String]
        do {
            files = try HandlerDirectoryLoader.listYAMLFiles(directory)
        } catch {
            throw Failure(errors: [error])
        }
        if files.isEmpty {
            throw Failure(errors: [ConfigError(file: directory, keyPath: "", message: "no handler files (*.yaml) in this folder")])
        }
        var providers: [ProviderHandler] = []
        var errors: [ConfigError] = []
        let loader = HandlerFileLoader(secrets: secrets)
        for file in files {
            guard let text = SecretSource.readTextFile(file) else {
                errors.append(ConfigError(file: file, keyPath: "", message: "cannot be read as UTF-8 text"))
                continue
            }
            do {
                providers.append(try loader.load(yaml: text, file: file))
            } catch {
                errors.append(error)
            }
        }
        guard errors.isEmpty else { throw Failure(errors: errors) }
        do {
            return try HandlerSet(providers: providers)
        } catch {
            throw Failure(errors: [error])
        }
    }

    static func listYAMLFiles(_ directory: String) throws(ConfigError) -> [String] {
        guard let dir = opendir(directory) else {
            throw ConfigError(file: directory, keyPath: "", message: "handlers folder cannot be opened (\(String(cString: strerror(errno))))")
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if !name.hasPrefix("."), name.hasSuffix(".yaml") || name.hasSuffix(".yml") { names.append(name) }
        }
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        return names.sorted().map { "\(base)/\($0)" }
    }
}
