// swift-tools-version:6.1
import PackageDescription

// Module map (see docs/ARCHITECTURE.md, "Modules"): dependencies point downward only.
//   callbridge (exe) → CallbridgeCLI → CallbridgeServer → {CallbridgeHandlers, CallbridgeStoreSQLite, CallbridgeStorePostgres}
//     → CallbridgeStore → CallbridgeModel
//   CallbridgeStore holds the EventLog protocols, their values and the rules both logs share (no database);
//   CallbridgeStoreSQLite (GRDB) and CallbridgeStorePostgres (postgres-nio) implement them. The dispatcher
//   and the services see only CallbridgeStore.
//   CallbridgeCrypto wraps OpenSSL libcrypto for verifiers and delivery signing.
//   CallbridgeTransport wraps the libcurl multi interface (CCurl) for delivery.
let package = Package(
    name: "Callbridge",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "callbridge", targets: ["callbridge"]),
        // For Benchmarks/Micro (a package of its own, so CI never builds the
        // benchmark tooling): the parts its micro-benchmarks exercise.
        .library(name: "CallbridgeModel", targets: ["CallbridgeModel"]),
        .library(name: "CallbridgeCrypto", targets: ["CallbridgeCrypto"]),
        .library(name: "CallbridgeHandlers", targets: ["CallbridgeHandlers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // TLS settings for PostgreSQL connections (already in the graph through postgres-nio).
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // NIOCore/NIOPosix for the server, the PostgreSQL log and the tests'
        // HTTP sinks (already in the graph through hummingbird, which requires
        // the same version).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // The HTTP/1 ↔ HTTPTypes codec the connection guard sits beside (already in the graph through hummingbird).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "CallbridgeModel"
        ),
        .target(
            name: "CallbridgeCrypto",
            dependencies: ["COpenSSL"]
        ),
        .target(
            name: "CallbridgeTransport",
            dependencies: ["CCurl"]
        ),
        .target(
            name: "CallbridgeHandlers",
            dependencies: [
                "CallbridgeModel",
                "CallbridgeCrypto",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "CallbridgeStore",
            dependencies: ["CallbridgeModel"]
        ),
        // The EventLog on one SQLite file (the default).
        .target(
            name: "CallbridgeStoreSQLite",
            dependencies: [
                "CallbridgeModel",
                "CallbridgeStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The same EventLog on PostgreSQL, for several processes sharing one log.
        .target(
            name: "CallbridgeStorePostgres",
            dependencies: [
                "CallbridgeModel",
                "CallbridgeStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "CallbridgeDispatch",
            dependencies: [
                "CallbridgeModel",
                "CallbridgeCrypto",
                "CallbridgeStore",
                "CallbridgeTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "CallbridgeServer",
            dependencies: [
                "CallbridgeModel",
                "CallbridgeCrypto",
                "CallbridgeDispatch",
                "CallbridgeHandlers",
                "CallbridgeStore",
                "CallbridgeStoreSQLite",
                "CallbridgeStorePostgres",
                "CallbridgeTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [
                .copy("Admin/admin-openapi.yaml"),
                // The operator console (/console): compiled into the binary as PackageResources.<name>.
                .embedInCode("Console/Assets/index.html"),
                .embedInCode("Console/Assets/console.css"),
                .embedInCode("Console/Assets/app.js"),
                .embedInCode("Console/Assets/api.js"),
                .embedInCode("Console/Assets/dom.js"),
                .embedInCode("Console/Assets/events.js"),
                .embedInCode("Console/Assets/detail.js"),
                .embedInCode("Console/Assets/endpoints.js"),
                .embedInCode("Console/Assets/overview.js"),
                .embedInCode("Console/Assets/favicon.svg"),
            ]
        ),
        // `callbridge simulate`: provider requests built and signed like the real ones.
        .target(
            name: "CallbridgeSimulator",
            dependencies: [
                "CallbridgeModel", "CallbridgeCrypto", "CallbridgeHandlers", "CallbridgeTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "CallbridgeCLI",
            dependencies: [
                "CallbridgeServer",
                "CallbridgeSimulator",
                "CallbridgeCrypto",
                "CallbridgeDispatch",
                "CallbridgeHandlers",
                "CallbridgeModel",
                "CallbridgeStore",
                "CallbridgeStoreSQLite",
                "CallbridgeStorePostgres",
                "CallbridgeTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "callbridge",
            dependencies: ["CallbridgeCLI"]
        ),
        // Helpers for tests (a recording HTTP sink), as HummingbirdTesting is a module of its own.
        .target(
            name: "CallbridgeTestSupport",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The ceiling for scripts/bench-ingest.sh: Hummingbird with no work behind it.
        .executableTarget(
            name: "bare-hummingbird",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "Benchmarks/BareHummingbird"
        ),
        // libFuzzer targets (scripts/fuzz.sh): the parsers and the shipped routes
        // end to end, replayed by CallbridgeFuzzingTests in the normal build.
        .target(
            name: "CallbridgeFuzzing",
            dependencies: ["CallbridgeModel", "CallbridgeCrypto", "CallbridgeHandlers", "CallbridgeStore", "CallbridgeDispatch", "CallbridgeTransport"]
        ),
        // Built with -D FUZZING -sanitize=fuzzer it is the libFuzzer binary;
        // otherwise it replays corpus files through a target once.
        .executableTarget(
            name: "callbridge-fuzz",
            dependencies: ["CallbridgeFuzzing", "CLibFuzzer"]
        ),
        // The declaration of libFuzzer's driver entry (the runtime comes with -sanitize=fuzzer).
        .systemLibrary(
            name: "CLibFuzzer",
            path: "Sources/CLibFuzzer"
        ),
        .testTarget(name: "CallbridgeModelTests", dependencies: ["CallbridgeModel", "CallbridgeTestSupport"]),
        .testTarget(name: "CallbridgeCryptoTests", dependencies: ["CallbridgeCrypto"]),
        .testTarget(
            name: "CallbridgeHandlersTests",
            dependencies: ["CallbridgeHandlers", "CallbridgeCrypto", "CallbridgeModel"],
            resources: [.copy("Fixtures")]
        ),
        // One conformance suite for every EventLog: SQLite, and PostgreSQL when
        // CALLBRIDGE_TEST_POSTGRES_URL names a server (scripts/test.sh starts one).
        .testTarget(
            name: "CallbridgeStoreTests",
            dependencies: [
                "CallbridgeStore", "CallbridgeStoreSQLite", "CallbridgeStorePostgres", "CallbridgeModel", "CallbridgeTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "CallbridgeSimulatorTests",
            dependencies: ["CallbridgeSimulator", "CallbridgeHandlers", "CallbridgeCrypto", "CallbridgeModel", "CallbridgeTransport"]
        ),
        .testTarget(
            name: "CallbridgeTransportTests",
            dependencies: [
                "CallbridgeTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CallbridgeDispatchTests",
            dependencies: [
                "CallbridgeDispatch", "CallbridgeTransport", "CallbridgeTestSupport",
                "CallbridgeCrypto", "CallbridgeModel", "CallbridgeStore", "CallbridgeStoreSQLite",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "CallbridgeServerTests",
            dependencies: [
                "CallbridgeServer",
                "CallbridgeCrypto",
                "CallbridgeDispatch",
                "CallbridgeHandlers",
                "CallbridgeModel",
                "CallbridgeStore",
                "CallbridgeStoreSQLite",
                "CallbridgeStorePostgres",
                "CallbridgeTransport",
                "CallbridgeTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "CallbridgeCLITests",
            dependencies: [
                "CallbridgeModel",
                "CallbridgeSimulator",
                "CallbridgeStore",
                "CallbridgeStoreSQLite",
                "CallbridgeStorePostgres",
                "CallbridgeCrypto",
                "CallbridgeTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "CallbridgeFuzzingTests", dependencies: ["CallbridgeFuzzing", "CallbridgeHandlers"]),
    ],
    swiftLanguageModes: [.v6]
)
