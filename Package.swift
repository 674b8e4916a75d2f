// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tpbench",
    // Linux only: the client's loop waits in epoll (Sources/Curl/SocketWatcher.swift) and the shim in
    // Sources/CCurl calls eventfd, timerfd and SO_TIMESTAMPNS; no other platform is claimed.
    products: [
        .executable(name: "tpbench", targets: ["tpbench"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // Defines the process's recv(2), so libcurl's reads carry the kernel's receive time (see its header).
        .target(name: "CReceiveTime"),
        .target(name: "Curl", dependencies: ["CCurl", "CReceiveTime", "ThreadPriority", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .target(name: "JSON"),
        .target(name: "SeededRandom"),
        .target(name: "ThreadPriority"),
        .target(name: "OpenAI"),
        .target(
            name: "Metrics",
            dependencies: ["JSON", .product(name: "Histogram", package: "hdrhistogram-swift")]
        ),
        .target(
            name: "Workload",
            dependencies: ["JSON", "JSONSchema", "LatencyModel", "SeededRandom", .product(name: "Yams", package: "Yams")]
        ),
        .target(name: "LoadGen", dependencies: ["Curl", "JSON", "JSONSchema", "OpenAI", "Metrics", "SeededRandom", "ThreadPriority", "Workload", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .target(name: "Report", dependencies: ["Metrics", "JSON", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        .target(
            name: "Harness",
            dependencies: [
                "LoadGen", "Report", "Metrics", "Workload", "MockServer", "LatencyModel", "ServerMetrics", "Curl", "CCurl", "JSON", "SeededRandom",
            ]
        ),
        .target(
            name: "ServerMetrics",
            dependencies: ["Curl", "Metrics", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        .target(name: "Interconnect", dependencies: ["LatencyModel"]),
        .target(name: "JSONSchema", dependencies: ["JSON"]),
        .target(name: "LatencyModel", dependencies: ["SeededRandom"]),
        .target(
            name: "MockServer",
            dependencies: [
                "JSON", "LatencyModel", "SeededRandom", "ThreadPriority",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ]
        ),
        .executableTarget(
            name: "tpbench",
            dependencies: [
                "LoadGen", "Metrics", "Report", "MockServer", "LatencyModel", "Curl", "Harness", "Workload",
                "ServerMetrics", "Interconnect", "JSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "OpenAITests", dependencies: ["OpenAI"]),
        .testTarget(name: "JSONSchemaTests", dependencies: ["JSON", "JSONSchema"], resources: [.copy("Resources")]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Metrics", "JSON", "SeededRandom"]),
        .testTarget(name: "WorkloadTests", dependencies: ["Workload", "JSONSchema", "LatencyModel"]),
        .testTarget(
            name: "HarnessTests",
            dependencies: [
                "Harness", "Curl", "LoadGen", "Metrics", "MockServer", "LatencyModel", "Report", "ServerMetrics", "Workload",
                "ThreadPriority",
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "LatencyModelTests", dependencies: ["LatencyModel"]),
        .testTarget(
            name: "ServerMetricsTests",
            dependencies: ["ServerMetrics", "Metrics", "Harness", "LoadGen", "MockServer", "LatencyModel", "Report",
                           "Workload", "Curl", "TestSupport"]
        ),
        .testTarget(name: "InterconnectTests", dependencies: ["Interconnect"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "MockServerTests",
            dependencies: [
                "MockServer", "LatencyModel", "JSON", "JSONSchema", "TestSupport", "ServerMetrics", "ThreadPriority",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "Harness", "LoadGen", "Metrics", "Report", "Workload", "Curl", "CCurl", "CReceiveTime", "OpenAI", "MockServer",
                "LatencyModel", "SeededRandom", "ServerMetrics", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            exclude: ["HostileSeeds"]
        ),
        .testTarget(
            name: "RealServerTests",
            dependencies: ["Harness", "LoadGen", "Metrics", "ServerMetrics", "Workload", "Curl", "JSON"],
            exclude: ["llamacpp_like_server.py"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "LoadGen", "Metrics", "Report", "TestSupport", "Curl", "OpenAI", "Workload",
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
