import CallbridgeModel
import Foundation
import Testing

@testable import CallbridgeStore
@testable import CallbridgeStoreSQLite

/// `SQLiteEventLog.backup(to:)` on a real log file, while it is written to.
@Suite struct SQLiteBackupTests {
    @Test func theCopyIsWholeWhileAppendsContinue() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let log = try SQLiteEventLog(path: dir.path("live.sqlite"))
        for n in 0..<100 {
            _ = try await log.append(Fixtures.record(dedupKey: "before_\(n)", millis: Fixtures.baseMillis + Int64(n)))
        }
        // Appends keep going while the copy is taken.
        let writer = Task {
            for n in 0..<100 {
                _ = try await log.append(Fixtures.record(dedupKey: "during_\(n)", millis: Fixtures.baseMillis + 1000 + Int64(n)))
            }
        }
        let summary = try await log.backup(to: dir.path("backup.sqlite"))
        try await writer.value

        #expect(summary.path == dir.path("backup.sqlite"))
        #expect((100...200).contains(summary.events), "\(summary)")
        #expect(summary.deliveries == summary.events, "one delivery per event, as appended")
        #expect(summary.migrations == SQLiteSchema.migrator.migrations.sorted())
        #expect(!FileManager.default.fileExists(atPath: dir.path("backup.sqlite.partial")))

        // The copy is a log this build opens, and every event in it is whole.
        let copy = try SQLiteEventLog.openReadOnly(path: dir.path("backup.sqlite"))
        let counts = try await copy.exportCounts()
        #expect(counts.events == summary.events)
        #expect(counts.rawRequests == counts.events)
        #expect(counts.deliveries == counts.events)
        await copy.close()
        #expect(try await log.exportCounts().events == 200)
        await log.close()
    }

    @Test func anExistingFileIsNeverOverwrittenAndAMissingFolderIsNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanUp() }
        let log = try SQLiteEventLog(path: dir.path("live.sqlite"))
        _ = try await log.append(Fixtures.record(dedupKey: "one"))
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: dir.path("taken.sqlite")))

        await #expect(throws: SQLiteBackupError.targetExists(path: dir.path("taken.sqlite"))) {
            try await log.backup(to: dir.path("taken.sqlite"))
        }
        #expect(try String(contentsOfFile: dir.path("taken.sqlite"), encoding: .utf8) == "keep me")
        await #expect(throws: SQLiteBackupError.targetDirectoryMissing(path: dir.path("nowhere"))) {
            try await log.backup(to: dir.path("nowhere/backup.sqlite"))
        }
        // A .partial left by an interrupted backup does not stop the next one.
        try Data("half".utf8).write(to: URL(fileURLWithPath: dir.path("next.sqlite.partial")))
        #expect(try await log.backup(to: dir.path("next.sqlite")).events == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path("next.sqlite.partial")))
        await log.close()
    }
}
