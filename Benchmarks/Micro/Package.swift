// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks of Callbridge's hot path (parse, normalize, mask, render,
// sign), with ordo-one/benchmark. A package of its own so that the test
// suite and CI never build the benchmark tooling. Run from the repository
// root: `bash scripts/bench-micro.sh` (it prints each benchmark's ratio to a
// reference measured in the same run).
let package = Package(
    name: "CallbridgeMicroBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Callbridge", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CallbridgeMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CallbridgeModel", package: "Callbridge"),
                .product(name: "CallbridgeCrypto", package: "Callbridge"),
                .product(name: "CallbridgeHandlers", package: "Callbridge"),
            ],
            path: "Benchmarks/CallbridgeMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
