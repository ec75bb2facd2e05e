import Analysis
import ArgumentParser

/// Where the store is and how much it may hold (shared by serve and import).
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("store"), help: "Store directory (pcapng segments, index.sqlite, eve.json).")
    var directory = "/var/lib/bma-analyzer"

    @Option(help: ArgumentHelp("Keep at most this much of captures (oldest deleted first): bytes or 200G, 512M; 0 = no limit.", valueName: "size"))
    var retentionBytes = ByteSize(bytes: 0)

    @Option(help: ArgumentHelp("Keep at least this much free on the store's disk (bytes or 10G, 512M).", valueName: "size"))
    var minFreeBytes = ByteSize(bytes: 512 << 20)

    @Option(help: ArgumentHelp("Start a new segment file after this much (bytes or 64M).", valueName: "size"))
    var rotateBytes = ByteSize(bytes: 64 << 20)

    @Option(help: "Start a new segment file after this many seconds.")
    var rotateSeconds: UInt64 = 300

    @Option(help: "Write buffered packets to their segment at least this often, and sync it to disk as often (seconds): a crash of the analyzer loses at most this much.")
    var flushInterval: Double = 1

    @Flag(help: "Give every stored packet a readable comment (bma vm=... reasons=...) besides its binary metadata; costs about as much as storing the packet.")
    var packetComments = false

    @Option(help: "Group (name or number) that may read the store: directories 0750 with setgid, files 0640, owned by this group.")
    var storeGroup: String?

    @Option(help: "Alert file (EVE JSON lines); default STORE/eve.json.")
    var eve: String?

    @Option(name: .customLong("vm-name"), help: "Name a VM in alerts: ID=NAME (repeatable).")
    var vmNames: [String] = []

    @Option(name: .customLong("module"), help: "External inspection module: NAME=COMMAND, a command that reads pcap on stdin and writes JSON lines (repeatable).")
    var modules: [String] = []

    func configuration() throws -> AnalyzerNode.Configuration {
        var c = AnalyzerNode.Configuration(storeDirectory: directory)
        c.store.maxTotalBytes = retentionBytes.bytes == 0 ? nil : retentionBytes.bytes
        c.store.minFreeBytes = minFreeBytes.bytes
        c.store.maxSegmentBytes = rotateBytes.bytes
        c.store.maxSegmentSeconds = rotateSeconds
        c.store.packetComments = packetComments
        guard flushInterval > 0, flushInterval <= 3600 else {
            throw ValidationError("--flush-interval \(flushInterval): expected seconds in (0, 3600]")
        }
        c.store.flushIntervalNs = UInt64(flushInterval * 1e9)
        c.evePath = eve
        if let storeGroup {
            guard let gid = StoreGroup.gid(storeGroup) else { throw ValidationError("--store-group: no group '\(storeGroup)'") }
            c.storeGroup = gid
        }
        for v in vmNames {
            let parts = v.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let id = UInt32(parts[0]), !parts[1].isEmpty else {
                throw ValidationError("--vm-name '\(v)': expected ID=NAME, e.g. 101=web1")
            }
            c.vmNames[id] = String(parts[1])
        }
        for m in modules {
            let parts = m.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--module '\(m)': expected NAME=COMMAND, e.g. 'tls=tshark -l -r - -T ek'")
            }
            c.externalModules.append(.init(name: String(parts[0]), command: ["/bin/sh", "-c", String(parts[1])]))
        }
        return c
    }

    /// The node on this store, with the VM names remembered in it for query and alerts.
    func openNode(onAlert: (@Sendable (Alert) -> Void)? = nil) throws -> AnalyzerNode {
        var c = try configuration()
        c.onAlert = onAlert
        let node = try AnalyzerNode(configuration: c)
        try StoreVMNames.remember(c.vmNames, in: directory)
        return node
    }
}
