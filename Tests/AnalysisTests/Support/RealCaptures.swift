import Testing
@testable import PacketCapture

/// The shared real captures, read once per test process.
enum RealCaptures {
    static let benign = "benign-camera-week.pcap"
    static let masscan = "masscan-tcp-1000-ports.pcap"
    static let nmap = "nmap-port80-sweep.pcap"
    static let iodine = "iodine-dns-tunnel.pcap"
    static let arpScan = "arp-scan.pcap"
    static let icmpScan = "icmp-portscan.pcap"
    static let all = [benign, masscan, nmap, iodine, arpScan, icmpScan]

    static var available: Bool { all.allSatisfy { CapturesDirectory.has($0) } }

    /// Skips a test, saying why, when the captures are not there.
    static var required: ConditionTrait {
        .enabled(if: available, Comment(rawValue: CapturesDirectory.skipMessage + " (looked in \(CapturesDirectory.path))"))
    }

    static func read(_ name: String) throws -> PcapCapture {
        try PcapCapture.read(path: CapturesDirectory.file(name))
    }
}
