import Analysis
import ArgumentParser
import Foundation

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Write the stored packets of a VM, a time range and a flow to a capture file.")

    @Option(name: .customLong("store"), help: "Store directory (an existing store; never created).")
    var directory = "/var/lib/bma-analyzer"

    @Option(help: "Only this VM: its id (101), vm101, or its name.")
    var vm: String?

    @Option(parsing: .unconditional, help: "From: Unix seconds, 2026-12-01T10:00Z, -15m, -2h, -1d, today, yesterday.")
    var since: String?

    @Option(parsing: .unconditional, help: "Until (same forms).")
    var until: String?

    @Option(help: "One flow, either direction: SRC,DST,PROTO,SPORT,DPORT (PROTO tcp, udp, icmp or a number).")
    var flow: String?

    @Option(name: .short, help: "Output file.")
    var w: String

    @Option(help: "pcap or pcapng.")
    var format = "pcap"

    func run() throws {
        guard format == "pcap" || format == "pcapng" else { throw AnalyzerFailure.usage("--format '\(format)': pcap or pcapng") }
        let sinceNs = try since.map { s throws(AnalyzerFailure) in try TimeArgument.parse(s, option: "--since") }
        let untilNs = try until.map { s throws(AnalyzerFailure) in try TimeArgument.parse(s, option: "--until") }
        let key = try flow.map(FlowArgument.parse)
        try ExistingStore.require(directory)
        let selection = try vm.map { v throws(AnalyzerFailure) in try VMSelection.resolve(v, store: directory, requireKnown: true) }
        var config = CaptureStoreConfiguration()
        config.minFreeBytes = 0
        let store = try CaptureStore(directory: directory, configuration: config)
        defer { store.close() }
        let n = try store.writeQuery(vm: selection?.id, since: sinceNs, until: untilNs, flow: key, to: w,
                                     format: format == "pcap" ? .pcap : .pcapng)
        print("\(n) packets written to \(w)")
        if n == 0 {
            let searched = [selection.map { "VM \($0.label)" }, since.map { "since \($0)" }, until.map { "until \($0)" },
                            flow.map { "flow \($0)" }].compactMap { $0 }
            print("no stored packet matched " + (searched.isEmpty ? "(the store is empty)" : searched.joined(separator: ", ")) + " in \(directory)")
        }
    }
}

enum FlowArgument {
    static func parse(_ text: String) throws -> FlowKey {
        let f = text.split(separator: ",").map(String.init)
        guard f.count == 5, let sp = UInt16(f[3]), let dp = UInt16(f[4]) else {
            throw AnalyzerFailure.usage("--flow '\(text)': expected SRC,DST,PROTO,SPORT,DPORT")
        }
        let proto: UInt8
        switch f[2].lowercased() {
        case "tcp": proto = 6
        case "udp": proto = 17
        case "icmp": proto = 1
        default:
            guard let n = UInt8(f[2]) else { throw AnalyzerFailure.usage("--flow: '\(f[2])' is not a protocol (tcp, udp, icmp or a number)") }
            proto = n
        }
        return FlowKey(srcIP: f[0], dstIP: f[1], proto: proto, srcPort: sp, dstPort: dp)
    }
}
