import Analysis
import ArgumentParser
import Foundation

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Write the stored packets of a VM, a time range and a flow to a capture file.")

    @Option(name: .customLong("store"), help: "Store directory (an existing store; never created).")
    var directory = "/var/lib/bma-analyzer"

    @Option(help: "VM id.")
    var vm: UInt32?

    @Option(help: "From (Unix seconds, RFC 3339, or -15m / -2h / -1d).")
    var since: String?

    @Option(help: "Until (same forms).")
    var until: String?

    @Option(help: "One flow, either direction: SRC,DST,PROTO,SPORT,DPORT (PROTO tcp, udp, icmp or a number).")
    var flow: String?

    @Option(name: .short, help: "Output file.")
    var w: String

    @Option(help: "pcap or pcapng.")
    var format = "pcap"

    func run() throws {
        guard format == "pcap" || format == "pcapng" else { throw ValidationError("--format: pcap or pcapng") }
        let sinceNs = try since.map { s in
            guard let v = TimeArgument.nanoseconds(s) else { throw ValidationError("--since '\(s)': not a time") }
            return v
        }
        let untilNs = try until.map { s in
            guard let v = TimeArgument.nanoseconds(s) else { throw ValidationError("--until '\(s)': not a time") }
            return v
        }
        let key = try flow.map(FlowArgument.parse)
        var config = CaptureStoreConfiguration()
        config.minFreeBytes = 0
        try ExistingStore.require(directory)
        let store = try CaptureStore(directory: directory, configuration: config)
        defer { store.close() }
        let n = try store.writeQuery(vm: vm, since: sinceNs, until: untilNs, flow: key, to: w,
                                     format: format == "pcap" ? .pcap : .pcapng)
        print("\(n) packets written to \(w)")
    }
}

enum FlowArgument {
    static func parse(_ text: String) throws -> FlowKey {
        let f = text.split(separator: ",").map(String.init)
        guard f.count == 5, let sp = UInt16(f[3]), let dp = UInt16(f[4]) else {
            throw ValidationError("--flow '\(text)': expected SRC,DST,PROTO,SPORT,DPORT")
        }
        let proto: UInt8
        switch f[2].lowercased() {
        case "tcp": proto = 6
        case "udp": proto = 17
        case "icmp": proto = 1
        default:
            guard let n = UInt8(f[2]) else { throw ValidationError("--flow: '\(f[2])' is not a protocol") }
            proto = n
        }
        return FlowKey(srcIP: f[0], dstIP: f[1], proto: proto, srcPort: sp, dstPort: dp)
    }
}
