// swift-tools-version:6.0
import PackageDescription

// DPDK 22.11 from Debian. SwiftPM cannot read libdpdk.pc, so the flags are spelled out here.
let dpdkIncludes: [CSetting] = [
    .unsafeFlags([
        "-I/usr/include/dpdk", "-I/usr/include/x86_64-linux-gnu/dpdk",
        "-include", "rte_config.h", "-march=corei7", "-O3",
    ]),
]
let dpdkLibraries: [LinkerSetting] = [
    "rte_eal", "rte_ethdev", "rte_mbuf", "rte_mempool", "rte_ring", "rte_net",
    "rte_kvargs", "rte_telemetry", "rte_vhost", "rte_bus_vdev",
].map { LinkerSetting.linkedLibrary($0) } + [.linkedLibrary("numa"), .linkedLibrary("pcap")]

// The analyzer keeps its bounds checks (it parses untrusted datagrams) but not the dynamic
// exclusivity checks, which cost about 6 % of an import (all its state is single-threaded or locked).
let analysisOptimize: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "bma",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bmad", targets: ["bmad"]),
        .executable(name: "bmactl", targets: ["bmactl"]),
        .executable(name: "bma-analyzer", targets: ["bma-analyzer"]),
        .executable(name: "bma-scenario", targets: ["bma-scenario"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // The wire contract shared by every tool: pure Swift, no DPDK, no Foundation; with the
        // one clock and the EINTR retry every tool uses.
        .target(name: "BMAContract", dependencies: [.product(name: "SystemPackage", package: "swift-system")], swiftSettings: optimize),
        .target(name: "CDPDK", cSettings: dpdkIncludes, linkerSettings: dpdkLibraries),
        // libpcap, for bmad replay to read pcap and pcapng as its net_pcap ports do.
        .systemLibrary(name: "CPcap", path: "Sources/CPcap"),
        .target(name: "Dataplane", dependencies: ["CDPDK", "BMAContract"], swiftSettings: optimize),
        // What every tool needs to talk to bmad or the analyzer: protocol, socket, client, state files.
        .target(name: "ControlProtocol", dependencies: [
            "BMAContract", .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // bmad's configuration file and policy model.
        .target(name: "Control", dependencies: ["BMAContract", "ControlProtocol", "Yams"]),
        .target(name: "PacketCapture", dependencies: ["BMAContract", .product(name: "SystemPackage", package: "swift-system")]),
        .target(name: "Analysis", dependencies: [
            "BMAContract", "PacketCapture",
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], swiftSettings: analysisOptimize),
        // The analysts' web console and its static reports (server-rendered HTML, inline SVG).
        .target(name: "Console", dependencies: [
            "Analysis", "BMAContract", "PacketCapture", .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .executableTarget(name: "bmad", dependencies: ["BMAContract", "Dataplane", "Control", "ControlProtocol", "CDPDK", "CPcap", "PacketCapture",
                                                .product(name: "ArgumentParser", package: "swift-argument-parser")], swiftSettings: optimize),
        .executableTarget(name: "bmactl", dependencies: [
            "BMAContract", "Control", "ControlProtocol", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "bma-analyzer", dependencies: [
            "Analysis", "Console", "ControlProtocol", "Yams", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "bma-scenario", dependencies: [
            "PacketCapture", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "CDPDKTests", dependencies: ["CDPDK"]),
        .testTarget(name: "BMAContractTests", dependencies: ["BMAContract", "CDPDK"]),
        .testTarget(name: "bmadTests", dependencies: ["bmad", "Dataplane", "Control", "CDPDK", "BMAContract"]),
        // The Swift frame parser against the C one (no EAL needed).
        .testTarget(name: "FrameParserTests", dependencies: ["PacketCapture", "CDPDK"]),
        .testTarget(name: "DataplaneTests", dependencies: ["Dataplane", "BMAContract"]),
        .testTarget(name: "ControlTests", dependencies: ["Control", "ControlProtocol", "BMAContract"]),
        .testTarget(name: "ConsoleTests", dependencies: ["Console", "Analysis", "BMAContract"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "PacketCapture", "BMAContract"]),
        .testTarget(name: "IntegrationTests", dependencies: ["PacketCapture", "Control", "ControlProtocol", "BMAContract"]),
    ]
)
