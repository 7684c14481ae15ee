import CallbridgeTransport
import Foundation

/// Counts this process's threads named like a transport's curl thread.
enum CurlThreads {
    /// - Parameter name: a name only the counting test uses, since other
    ///   suites running in parallel start and stop their own transports.
    static func count(named name: String = CurlTransport.threadName) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return comm.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }.count
    }
}
