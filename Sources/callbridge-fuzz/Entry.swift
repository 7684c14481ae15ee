import CallbridgeFuzzing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The fuzz target is chosen by CALLBRIDGE_FUZZ_TARGET (json, form, timestamp,
// retry_after, mask, route, curl_headers); see scripts/fuzz.sh.
//
// Built with `-D FUZZING` (and -sanitize=fuzzer), main hands over to
// libFuzzer's driver with the target as the callback. Built normally, it is
// a program that runs every file given (or every file inside a folder given)
// through the target once, for replaying a corpus or a crash input.

func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func selectedTarget() -> FuzzTarget {
    guard let raw = getenv("CALLBRIDGE_FUZZ_TARGET"), let target = FuzzTarget(rawValue: String(cString: raw)) else {
        let names = FuzzTarget.allCases.map(\.name).joined(separator: ", ")
        printError("callbridge-fuzz: set CALLBRIDGE_FUZZ_TARGET to one of: \(names)")
        exit(2)
    }
    return target
}

#if FUZZING
import CLibFuzzer

nonisolated(unsafe) var fuzzTarget: FuzzTarget = .json

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    fuzzTarget.run(bytes)
    return 0
}

/// SwiftPM links every Linux executable with this module's own entry point,
/// so libFuzzer's `main` is not the one that runs: hand the arguments to its driver.
@main
struct CallbridgeFuzzer {
    static func main() {
        fuzzTarget = selectedTarget()
        fuzzTarget.prepare()
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzTestOneInput))
    }
}

#else

@main
struct CallbridgeFuzzReplay {
    static func main() {
        if CommandLine.arguments.dropFirst().first == "--list-routes" {
            // The routes as byte 0 of a `route` input picks them (Fuzz/make_seeds.py reads this).
            for (index, route) in RouteFuzz.routes.enumerated() { print("\(index) \(route.qualifiedName)") }
            return
        }
        let target = selectedTarget()
        let arguments = CommandLine.arguments.dropFirst()
        guard !arguments.isEmpty else {
            printError("usage: CALLBRIDGE_FUZZ_TARGET=NAME callbridge-fuzz FILE|FOLDER... | callbridge-fuzz --list-routes")
            exit(2)
        }
        target.prepare()
        var count = 0
        for argument in arguments {
            for file in FuzzCorpus.files(at: argument) {
                guard let bytes = FuzzCorpus.read(file) else {
                    printError("callbridge-fuzz: cannot read \(file)")
                    exit(1)
                }
                target.run(bytes)
                count += 1
            }
        }
        print("\(target.name): \(count) inputs ran")
    }
}

#endif
