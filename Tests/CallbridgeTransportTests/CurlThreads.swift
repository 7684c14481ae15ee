import CallbridgeTransport
import Foundation

/// Counts this process's threads named like the transport's curl thread.
enum CurlThreads {
    static func count() -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return comm.trimmingCharacters(in: .whitespacesAndNewlines) == CurlTransport.threadName
        }.count
    }
}
