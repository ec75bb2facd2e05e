import Analysis
import Console
import ArgumentParser
import Foundation

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts", abstract: "List stored alerts (each with its id), or acknowledge one (ack ID --benign).",
        subcommands: [AlertsListCommand.self, AlertAckCommand.self], defaultSubcommand: AlertsListCommand.self)
}

struct AlertsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List stored alerts (the default).")

    @Option(name: .customLong("store"), help: "Store directory (an existing store; never created).")
    var directory = "/var/lib/bma-analyzer"

    @Option(help: "Only this VM: its id (101), vm101, or its name.")
    var vm: String?

    @Option(parsing: .unconditional, help: "From: Unix seconds, 2026-12-01T10:00Z, -15m, -2h, -1d, today, yesterday.")
    var since: String?

    @Flag(help: "EVE JSON lines.")
    var json = false

    func run() throws {
        let sinceNs = try since.map { s throws(AnalyzerFailure) in try TimeArgument.parse(s, option: "--since") }
        try ExistingStore.require(directory)
        let selection = try vm.map { v throws(AnalyzerFailure) in try VMSelection.resolve(v, store: directory, requireKnown: false) }
        var config = CaptureStoreConfiguration()
        config.minFreeBytes = 0
        let store = try CaptureStore(directory: directory, configuration: config)
        defer { store.close() }
        // Alerts name a VM by its name when the node knew it, else vm<ID>: ask for both.
        let alerts = try store.fetchAlerts(since: sinceNs).filter { selection?.alertNames.contains($0.vm) ?? true }
        if json {
            for a in alerts { FileHandle.standardOutput.write(Data(AlertSink.eveLine(a) + [0x0a])) }
            return
        }
        if alerts.isEmpty {
            var searched: [String] = []
            if let selection { searched.append("for VM \(selection.label)") }
            if let since { searched.append("since \(since)") }
            print((["no alerts"] + searched).joined(separator: " ") + (searched.isEmpty ? "" : " (store \(directory))"))
            return
        }
        for a in alerts {
            let flow = [a.src_ip.map { "\($0)\(a.src_port.map { ":\($0)" } ?? "")" }, a.dest_ip.map { "\($0)\(a.dest_port.map { ":\($0)" } ?? "")" }]
                .compactMap { $0 }.joined(separator: " -> ")
            print("\(a.timestamp)  sev \(a.alert.severity)  \(a.vm)  \(a.alert.signature)  \(a.proto ?? "") \(flow)  x\(a.bma.count)"
                  + (a.pcap.map { "  [\($0.file)#\($0.packet)]" } ?? "") + "  id \(StoredAlert(a).id)")
        }
    }
}
