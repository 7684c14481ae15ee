#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Corpus and regression files on disk, for the replay program and the tests.
public enum FuzzCorpus {
    /// `Fuzz/` of the checkout this file was compiled from.
    public static var fuzzDirectory: String {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Sources/CallbridgeFuzzing/FuzzCorpus.swift
        return parts.joined(separator: "/") + "/Fuzz"
    }

    /// `path` itself when it is a file; the regular files directly inside it,
    /// sorted, when it is a folder (README.md excepted); none when it is missing.
    public static func files(at path: String) -> [String] {
        guard let dir = opendir(path) else {
            return access(path, R_OK) == 0 ? [path] : []
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard !name.hasPrefix("."), name != "README.md" else { continue }
            let full = path + "/" + name
            var info = stat()
            if stat(full, &info) == 0, info.st_mode & S_IFMT == S_IFREG { names.append(full) }
        }
        return names.sorted()
    }

    /// The file's bytes, or nil when it cannot be read.
    public static func read(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n > 0 { bytes.append(contentsOf: buffer[0..<n]) }
            if n < buffer.count { return ferror(file) == 0 ? bytes : nil }
        }
    }
}
