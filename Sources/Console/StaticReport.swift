import Analysis
import BMAContract
import Foundation

/// `bma-analyzer report`: the console's pages for one time range as files with relative links
/// (index.html, vm-ID.html, alerts.html, alert-ID.html, actions.html) and each alert's packets
/// under pcap/, for mail and archives.
public enum StaticReport {
    public struct Summary: Sendable {
        public var files: [String]
        public var vms: Int
        public var alerts: Int
    }

    /// Writes the report into `directory` (created if missing; files of the same names are
    /// replaced). `vm`: only that VM's page and alerts.
    public static func write(store: ConsoleStore, range: TimeRange, vm: UInt32?, to directory: String, storeLabel: String) throws -> Summary {
        let range = store.clamped(range)
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory + "/pcap", withIntermediateDirectories: true)
        } catch {
            throw ConsoleError("\(directory): cannot create: \(error.localizedDescription)")
        }
        let c = PageContext(store: store, links: ConsoleLinks(isStatic: true), range: range,
                            footer: "Report of store \(storeLabel), \(HTML.time(range.since)) – \(HTML.time(range.until)) UTC, written at \(HTML.time(SystemClock.wallNanoseconds())) UTC.",
                            scopeVM: vm)
        var files: [String] = []
        func save(_ name: String, _ bytes: [UInt8]) throws {
            let path = directory + "/" + name
            guard fm.createFile(atPath: path, contents: Data(bytes)) else { throw ConsoleError("\(path): cannot write") }
            files.append(name)
        }
        let alerts = try c.alerts()
        var vms: [UInt32]
        if let vm {
            vms = [vm]
        } else {
            vms = Array(try Activity.read(store, range: range).vms.keys)
            for a in alerts { if let id = store.vmID(alertVM: a.alert.vm) { vms.append(id) } }
            vms = Array(Set(vms)).sorted()
        }
        try save("index.html", Array(try OverviewPage.render(c).utf8))
        for id in vms { try save("vm-\(id).html", Array(try VMPage.render(c, vm: id).utf8)) }
        try save("alerts.html", Array(try AlertsPage.render(c, filter: ConsoleFilter()).utf8))
        // A page for every alert a table lists: the latest of the range, and the latest of each VM.
        var listed = Set(alerts.suffix(PageContext.alertRows).map(\.id))
        for (_, of) in Dictionary(grouping: alerts, by: \.alert.vm) { listed.formUnion(of.suffix(PageContext.alertRows).map(\.id)) }
        for a in alerts where listed.contains(a.id) {
            try save("alert-\(a.id).html", Array(try AlertPage.render(c, alert: a).utf8))
            if let pcap = try AlertPage.pcap(c, alert: a) { try save("pcap/alert-\(a.id).pcap", pcap) }
        }
        try save("actions.html", Array(ActionsPage.render(c).utf8))
        return Summary(files: files, vms: vms.count, alerts: alerts.count)
    }
}
