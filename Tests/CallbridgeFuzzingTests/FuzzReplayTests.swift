import CallbridgeFuzzing
import CallbridgeHandlers
import Testing

/// The fuzz targets in the normal (unsanitized) build: every committed corpus
/// file and every saved crash input goes through its target once, so the
/// harness keeps compiling and working, and a crash the fuzzer found stays fixed.
@Suite struct FuzzReplayTests {
    static func folder(_ kind: String, _ target: FuzzTarget) -> String {
        "\(FuzzCorpus.fuzzDirectory)/\(kind)/\(target.name)"
    }

    @Test("every committed corpus file runs through its target", arguments: FuzzTarget.allCases)
    func corpus(_ target: FuzzTarget) throws {
        let files = FuzzCorpus.files(at: Self.folder("corpus", target))
        #expect(!files.isEmpty, "Fuzz/corpus/\(target.name) is empty")
        target.prepare()
        for file in files {
            let bytes = try #require(FuzzCorpus.read(file), "cannot read \(file)")
            target.run(bytes)
        }
    }

    /// Every file under Fuzz/regressions/<target>/, as `target/file`.
    static let regressionInputs: [String] = FuzzTarget.allCases.flatMap { target in
        FuzzCorpus.files(at: folder("regressions", target)).map { "\(target.name)/\($0.split(separator: "/").last!)" }
    }

    /// Each saved crash input runs in a child process, so one that traps again
    /// fails its own test (named by its file) instead of ending the whole run.
    @Test("a saved crash input runs through its target without trapping", arguments: regressionInputs)
    func regression(_ input: String) async throws {
        let parts = input.split(separator: "/")
        let target = try #require(FuzzTarget(rawValue: String(parts[0])))
        let path = "\(FuzzCorpus.fuzzDirectory)/regressions/\(input)"
        _ = try #require(FuzzCorpus.read(path), "cannot read \(path)")
        await #expect(processExitsWith: .success, "Fuzz/regressions/\(input) traps in \(target.name)") { [path = path as String, input = input as String] in
            let target = FuzzTarget(rawValue: String(input.split(separator: "/")[0]))!
            target.prepare()
            target.run(FuzzCorpus.read(path) ?? [])
        }
    }

    /// The route corpus keeps reaching past verification on every shipped route
    /// (its signed inputs would stop doing so if a handler's scheme changed
    /// and the harness's signing did not follow).
    @Test func routeCorpusPassesVerificationOnEveryRoute() throws {
        var verified: Set<String> = []
        var reached: Set<String> = []
        for file in FuzzCorpus.files(at: Self.folder("corpus", .route)) {
            let (route, outcome) = RouteFuzz.outcome(try #require(FuzzCorpus.read(file)))
            if case .accepted(let isVerified) = outcome {
                reached.insert(route)
                if isVerified { verified.insert(route) }
            }
        }
        let all = Set(RouteFuzz.routes.map(\.qualifiedName))
        #expect(reached == all, "routes no corpus input is accepted on: \(all.subtracting(reached).sorted())")
        let signed = Set(RouteFuzz.routes.filter { route in route.verifiers.contains { $0.method != .none } }.map(\.qualifiedName))
        #expect(verified == signed, "signed routes no corpus input verifies on: \(signed.subtracting(verified).sorted())")
    }
}
