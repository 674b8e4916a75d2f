// swift-tools-version:6.0
// libFuzzer targets for tpbench's parsers, kept out of the main package so `swift build` there stays clean and fast.
// Sources/<Module> are symlinks to the main package's modules (compiled here with fuzzer instrumentation).
// Build and run with scripts/fuzz.sh (Linux only: needs -sanitize=fuzzer).
import PackageDescription

let package = Package(
    name: "tpbench-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
    ],
    targets: [
        .target(name: "OpenAI"),
        .target(name: "JSONSchema"),
        .target(name: "LatencyModel"),
        .target(name: "Workload", dependencies: ["JSONSchema", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "MockServer",
            dependencies: [
                "LatencyModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ]
        ),
        .executableTarget(name: "FuzzSSE", dependencies: ["OpenAI"]),
        .executableTarget(name: "FuzzChunk", dependencies: ["OpenAI"]),
        .executableTarget(name: "FuzzWorkload", dependencies: ["Workload"]),
        .executableTarget(name: "FuzzMockRequest", dependencies: ["MockServer"]),
    ]
)
