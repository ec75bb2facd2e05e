import Analysis
import ArgumentParser
import Foundation

struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "alerts", abstract: "List stored alerts.")

    @Option(name: .customLong("store"), help: "Store directory (an existing store; never created).")
    var directory = "/var/lib/bma-analyzer"

    @Option(help: "Only this VM (as alerts name it: vm<ID> or its name).")
    var vm: String?

    @Option(help: "From (Unix seconds, RFC 3339, or -15m / -2h / -1d).")
    var since: String?

    @Flag(help: "EVE JSON lines.")
    var json = false

    func run() throws {
        let sinceNs = try since.map { s in
            guard let v = TimeArgument.nanoseconds(s) else { throw ValidationError("--since '\(s)': not a time") }
            return v
        }
        var config = CaptureStoreConfiguration()
        config.minFreeBytes = 0
        try ExistingStore.require(directory)
        let store = try CaptureStore(directory: directory, configuration: config)
        defer { store.close() }
        let alerts = store.alerts(vm: vm, since: sinceNs)
        if json {
            for a in alerts { FileHandle.standardOutput.write(Data(AlertSink.eveLine(a) + [0x0a])) }
            return
        }
        if alerts.isEmpty {
            print("no alerts")
            return
        }
        for a in alerts {
            let flow = [a.src_ip.map { "\($0)\(a.src_port.map { ":\($0)" } ?? "")" }, a.dest_ip.map { "\($0)\(a.dest_port.map { ":\($0)" } ?? "")" }]
                .compactMap { $0 }.joined(separator: " -> ")
            print("\(a.timestamp)  sev \(a.alert.severity)  \(a.vm)  \(a.alert.signature)  \(a.proto ?? "") \(flow)  x\(a.bma.count)"
                  + (a.pcap.map { "  [\($0.file)#\($0.packet)]" } ?? ""))
        }
    }
}
