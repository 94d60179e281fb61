// swift-tools-version:6.1
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Comarca",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "comarca", targets: ["comarca"]),
        .library(name: "PGClient", targets: ["PGClient"]),
        .library(name: "Spreadsheet", targets: ["Spreadsheet"]),
        .library(name: "ComarcaCore", targets: ["ComarcaCore"]),
        .library(name: "ComarcaHTTP", targets: ["ComarcaHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CArgon2",
            pkgConfig: "libargon2",
            providers: [.apt(["libargon2-dev"])]
        ),
        .target(
            name: "PGClient",
            dependencies: [
                "CLibPQ",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // Reads CSV/TSV and XLSX row by row with flat memory; knows nothing of the CRM.
        .target(
            name: "Spreadsheet",
            dependencies: [
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "ComarcaCore",
            dependencies: [
                "PGClient",
                "Spreadsheet",
                "CArgon2",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "ComarcaHTTP",
            dependencies: [
                "ComarcaCore",
                "PGClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/openapi.json")],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "comarca",
            dependencies: [
                "ComarcaCore",
                "ComarcaHTTP",
                "PGClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // Benchmarks (bench/): measured against PostgreSQL's own tools in the same run.
        .executableTarget(
            name: "comarca-bench",
            dependencies: ["PGClient", "ComarcaCore", "Spreadsheet"],
            path: "bench/ComarcaBench"
        ),
        // Shared by the test targets: fresh databases on the real server deploy/dev started.
        .target(
            name: "ComarcaTestSupport",
            dependencies: ["PGClient", "ComarcaCore"],
            path: "Tests/ComarcaTestSupport",
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "SpreadsheetTests",
            dependencies: ["Spreadsheet"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PGClientTests",
            dependencies: ["PGClient", "ComarcaTestSupport"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "ComarcaCoreTests",
            dependencies: ["ComarcaCore", "PGClient", "ComarcaTestSupport"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "ComarcaHTTPTests",
            dependencies: [
                "ComarcaHTTP", "ComarcaCore", "PGClient", "Spreadsheet", "ComarcaTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: upcoming
        ),
    ]
)
