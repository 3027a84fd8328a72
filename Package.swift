// swift-tools-version: 6.2
import PackageDescription

/// Outpost: a device agent, a central aggregator, and the shared wire contract between them.
///
/// Layout (see README.md and docs/architecture.md):
/// - `Common/`     — shared modules: `OutpostSupport` (config, logging, files, systemd, errors), `OutpostWire`
///                   (codec, topics, ACL, identity messages; no C module), `OutpostMQTT` (libmosquitto client),
///                   `OutpostProcess` (posix_spawn once), `OutpostStreaming` (H.264/RTP/RTCP/SDP),
///                   `OutpostSRTP` (libsrtp2), and the C modules.
/// - `Agent/`      — `OutpostAgent` library + `outpost-agent` executable. Links no aggregator dependency.
/// - `Aggregator/` — `OutpostAggregator` library + `outpost-aggregator` executable.
/// - `Tools/`      — never shipped: `outpost-simulator`, `outpost-chaos`, `outpost-bench`, `LocalServers`.
/// - `Tests/`      — per module a fast target (no servers) and, where needed, an integration target
///                   (real servers); `TestHarness` and `AggregatorTestSupport` are what they share.
let package = Package(
    name: "outpost",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "outpost-agent", targets: ["outpost-agent"]),
        .executable(name: "outpost-aggregator", targets: ["outpost-aggregator"]),
        .executable(name: "outpost-chaos", targets: ["outpost-chaos"]),
        .executable(name: "outpost-simulator", targets: ["outpost-simulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // MARK: C modules (system libraries, with shims where C is not callable from Swift)
        .systemLibrary(name: "CMosquitto", path: "Common/CMosquitto", pkgConfig: "libmosquitto",
                       providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Common/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        // Headers only: the agent opens libcurl when it first makes a request (Common/CCurl/shim.h).
        .systemLibrary(name: "CCurl", path: "Common/CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // Headers only: OutpostSRTP opens libsrtp2 with the first stream (Common/CSRTP/shim.h).
        .systemLibrary(name: "CSRTP", path: "Common/CSRTP", providers: [.apt(["libsrtp2-dev"])]),
        // dlopen of a list of functions, all or none, naming what is missing: CCurl's and CSRTP's shims use it.
        .target(name: "CDynamicLoad", path: "Common/CDynamicLoad"),
        .systemLibrary(name: "CLibcrypto", path: "Common/CLibcrypto", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),

        // MARK: Shared (Common/): support primitives, the wire contract, the MQTT client.
        .target(
            name: "OutpostSupport",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Common/Support"
        ),
        .target(
            name: "OutpostWire",
            dependencies: ["OutpostSupport"],
            path: "Common/Wire"
        ),
        .target(
            name: "OutpostMQTT",
            dependencies: ["OutpostSupport", "CMosquitto", .product(name: "Logging", package: "swift-log")],
            path: "Common/MQTT"
        ),

        // MARK: Streaming: H.264/RTP/RTCP/SDP as value types and small wrappers (no session, no process, no C
        // library, so the aggregator's relay uses it too); SRTP over libsrtp2 apart, for the agent.
        .target(
            name: "OutpostStreaming",
            dependencies: ["OutpostSupport"],
            path: "Common/Streaming"
        ),
        .target(
            name: "OutpostSRTP",
            dependencies: ["OutpostStreaming", "OutpostSupport", "CSRTP", "CDynamicLoad"],
            path: "Common/SRTP"
        ),
        // `posix_spawn` set-up written once: the agent's commands, the aggregator's media
        // engines and the local servers of tests and tools.
        .target(
            name: "OutpostProcess",
            path: "Common/Process"
        ),

        // MARK: Agent (device side): never depends on an aggregator dependency.
        .target(
            name: "OutpostAgent",
            dependencies: [
                "OutpostSupport", "OutpostWire", "OutpostMQTT", "OutpostStreaming", "OutpostSRTP", "OutpostProcess",
                "CSQLite", "CCurl", "CDynamicLoad", "CLibcrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Agent/Sources/OutpostAgent"
        ),
        .executableTarget(
            name: "outpost-agent",
            dependencies: ["OutpostAgent"],
            path: "Agent/Sources/outpost-agent",
            // Release only (docs/performance.md, "Issue 20, sessions 8 and 10"): lld packs the relative relocations
            // (DT_RELR, glibc >= 2.36) so the loader no longer reads 1 MB of .rela.dyn at every start; the
            // binary exports no Swift symbols (the static stdlib's link arguments ask for --export-dynamic); and
            // the functions the agent runs are placed together, first in .text (Agent/symbol-order.txt, written by
            // packaging/dev/agent-symbol-order.sh), so the pages the kernel maps around them are mostly ones it runs.
            linkerSettings: [.unsafeFlags(
                ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
                 "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Agent/symbol-order.txt",
                 "-Xlinker", "--no-warn-symbol-ordering"],
                .when(configuration: .release))]
        ),

        // MARK: Aggregator (centre side)
        .target(
            name: "OutpostAggregator",
            dependencies: [
                "OutpostSupport", "OutpostWire", "OutpostMQTT", "OutpostStreaming", "OutpostProcess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Aggregator/Sources/OutpostAggregator",
            resources: [.embedInCode("API/OpenAPI/openapi.json")]
        ),
        .executableTarget(
            name: "outpost-aggregator",
            dependencies: ["OutpostAggregator"],
            path: "Aggregator/Sources/outpost-aggregator"
        ),

        // MARK: Tools: the simulator, a fleet of simulated meters on the agent's real parts (not in the agent .deb).
        .target(
            name: "OutpostSimulator",
            dependencies: [
                "OutpostAgent", "OutpostSupport", "OutpostWire", "OutpostMQTT",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tools/Simulator/Sources/OutpostSimulator"
        ),
        .executableTarget(
            name: "outpost-simulator",
            dependencies: [
                "OutpostSimulator", "OutpostSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/Simulator/Sources/outpost-simulator"
        ),
        // MARK: Tools: mosquitto, PostgreSQL and Patroni run locally, for the tests and the fault campaign.
        .target(
            name: "LocalServers",
            dependencies: ["OutpostWire", "OutpostMQTT", "OutpostProcess"],
            path: "Tools/LocalServers"
        ),
        // MARK: Tools: the fault campaign (`make chaos`), driving the real binaries as processes.
        .target(
            name: "ChaosCampaign",
            dependencies: ["OutpostSupport", "OutpostWire", "LocalServers", "CSQLite"],
            path: "Tools/Chaos/Sources/ChaosCampaign"
        ),
        .executableTarget(
            name: "outpost-chaos",
            dependencies: ["ChaosCampaign", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/Chaos/Sources/outpost-chaos"
        ),
        // MARK: Tools (built by `make bench`; not part of any shipped product)
        .executableTarget(
            name: "outpost-bench",
            dependencies: ["OutpostAgent", "OutpostWire", .product(name: "Logging", package: "swift-log")],
            path: "Tools/Bench"
        ),

        // MARK: Tests
        .target(
            name: "TestHarness",
            dependencies: ["LocalServers"],
            path: "Tests/TestHarness"
        ),
        // Fast tier (`make test-fast`): pure logic and in-process router tests; no servers, no TLS.
        .testTarget(
            name: "SupportTests",
            dependencies: ["OutpostSupport", "OutpostMQTT", "CDynamicLoad", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SupportTests"
        ),
        .testTarget(
            name: "WireTests",
            dependencies: ["OutpostWire", "OutpostSupport"],
            path: "Tests/WireTests",
            resources: [.copy("Vectors")]
        ),
        .testTarget(
            name: "MQTTTests",
            dependencies: ["OutpostMQTT", .product(name: "Logging", package: "swift-log")],
            path: "Tests/MQTTTests"
        ),
        .testTarget(
            name: "MQTTIntegrationTests",
            dependencies: ["OutpostMQTT", "OutpostWire", "TestHarness", .product(name: "Logging", package: "swift-log")],
            path: "Tests/MQTTIntegrationTests"
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "OutpostAgent", "TestHarness",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/AgentTests"
        ),
        .testTarget(
            name: "StreamingTests",
            dependencies: ["OutpostStreaming"],
            path: "Tests/StreamingTests",
            exclude: ["Vectors"]
        ),
        .testTarget(
            name: "SimulatorTests",
            dependencies: ["OutpostSimulator", "OutpostAgent", "OutpostSupport", "OutpostWire"],
            path: "Tests/SimulatorTests"
        ),
        .testTarget(
            name: "AggregatorTests",
            dependencies: [
                "OutpostAggregator", "AggregatorTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/AggregatorTests"
        ),
        /// What the fast and the integration aggregator tests share: the OpenAPI validator and the reply checks.
        .target(
            name: "AggregatorTestSupport",
            dependencies: ["OutpostSupport", .product(name: "NIOHTTP1", package: "swift-nio")],
            path: "Tests/AggregatorTestSupport"
        ),
        // Integration tier: real mosquitto, PostgreSQL, ffmpeg, Janus, openssl, the agent as a process.
        .testTarget(
            name: "AgentIntegrationTests",
            dependencies: [
                "OutpostAgent", "OutpostStreaming", "OutpostSRTP", "TestHarness",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/AgentIntegrationTests"
        ),
        .testTarget(
            name: "AggregatorIntegrationTests",
            dependencies: [
                "OutpostAggregator", "OutpostAgent", "OutpostSimulator", "OutpostStreaming", "OutpostSRTP", "AggregatorTestSupport", "TestHarness",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/AggregatorIntegrationTests"
        ),
        .testTarget(
            name: "ChaosTests",
            dependencies: ["ChaosCampaign", "OutpostAgent", "OutpostWire", "TestHarness"],
            path: "Tests/ChaosTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Warnings fail the build of the project's own targets (SwiftPM never applies this to
// dependencies, whose warnings it suppresses anyway).
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.treatAllWarnings(as: .error)]
}
