import Analysis
import Foundation

/// One alert: its fields, its flow, and the packets it stands for (`AlertPackets`), listed and
/// downloadable as pcap.
enum AlertPage {
    static let packetRows = 500

    static func render(_ c: PageContext, alert s: StoredAlert) throws -> String {
        let a = s.alert
        let vmID = c.store.vmID(alertVM: a.vm)
        var body = "<p>" + HTML.severity(a.alert.severity) + " · \(HTML.escape(a.alert.category)) · module \(HTML.escape(a.bma.module))</p>"
        var rows: [[String]] = [
            ["Time (UTC)", HTML.escape(HTML.time(s.timestampNs)) + " <span class=\"note\">(\(HTML.escape(a.timestamp)))</span>"],
            ["VM", c.vmLink(alertVM: a.vm)],
            ["Sensor", HTML.escape(a.host)],
            ["Flow", HTML.escape(PageContext.flowText(a))],
            ["Signature id", String(a.alert.signature_id)],
            ["Count", HTML.count(a.bma.count)],
            ["bmad's reasons", HTML.escape(a.bma.reasons.joined(separator: ", ").ifEmpty("—"))],
            ["Score", a.bma.score.map { String(format: "%.3f", $0) } ?? "—"],
        ]
        if let id = a.community_id { rows.append(["Community ID", HTML.escape(id)]) }
        if let p = a.pcap { rows.append(["First packet", HTML.escape("\(p.file) #\(p.packet)")]) }
        // Module details can be long unbroken text (a tunnel's query name): let them wrap anywhere.
        for (k, v) in a.bma.details.sorted(by: { $0.key < $1.key }) { rows.append([HTML.escape(k), "<span class=\"wrap\">\(HTML.escape(v))</span>"]) }
        body += HTML.table(["Field", "Value"], rows, empty: "")

        body += "<h2>Its packets</h2>"
        guard let selection = AlertPackets(s, vmID: vmID) else {
            body += "<p class=\"note\">This alert names no flow of a VM: it has no packets.</p>"
            return HTML.page(title: a.alert.signature, links: c.links, current: "Alerts", body: body, footer: c.footer)
        }
        let peer = selection.destination.map { "and \($0)" } ?? "and any host"
        body += "<p class=\"note\">Stored packets of \(HTML.escape(c.vmLabel(selection.vmID))) between \(HTML.escape(selection.source.description)) \(HTML.escape(peer)), "
            + "\(HTML.escape(HTML.time(selection.range.since))) – \(HTML.escape(HTML.time(selection.range.until))) UTC.</p>"
        let (packets, truncated) = try selection.packets(in: c.store, limit: c.store.alertPacketLimit)
        body += "<p>" + HTML.link(c.links.alertPcap(s.id), "Download its \(HTML.count(packets.count)) packets (pcap)") + "</p>"
        if truncated { body += "<p class=\"note\">The first \(HTML.count(c.store.alertPacketLimit)) packets only.</p>" }
        body += HTML.table(
            ["#No.", "Time (UTC)", "Source", "Destination", "Protocol", "#Length", "Reasons", "#Score", "Flags"],
            packets.prefix(packetRows).enumerated().map { i, p in
                let key = PacketView(packet: p).flowKey
                let ports = key.map { $0.proto == 6 || $0.proto == 17 } ?? false
                return [String(i + 1), HTML.escape(HTML.time(p.timestampNs) + String(format: ".%06d", Int(p.timestampNs % 1_000_000_000 / 1000))),
                        HTML.escape(key.map { ports ? "\($0.srcIP):\($0.srcPort)" : $0.srcIP } ?? "—"),
                        HTML.escape(key.map { ports ? "\($0.dstIP):\($0.dstPort)" : $0.dstIP } ?? "—"),
                        HTML.escape(key?.protoName ?? "—"), HTML.count(Int(p.originalLength)),
                        HTML.escape(p.metadata?.reasons.names.joined(separator: ", ") ?? "—"),
                        p.metadata.map { String(format: "%.3f", $0.score) } ?? "—",
                        HTML.escape(p.metadata?.flags.names.joined(separator: ", ") ?? "")]
            }, empty: "No stored packet matches (retention may have deleted them).")
        if packets.count > packetRows { body += "<p class=\"note\">The first \(packetRows) of \(HTML.count(packets.count)) packets; the pcap has them all.</p>" }
        return HTML.page(title: a.alert.signature, links: c.links, current: "Alerts", body: body, footer: c.footer)
    }

    /// The pcap of the alert's packets.
    static func pcap(_ c: PageContext, alert s: StoredAlert) throws -> [UInt8]? {
        guard let selection = AlertPackets(s, vmID: c.store.vmID(alertVM: s.alert.vm)) else { return nil }
        return PcapBytes.encode(try selection.packets(in: c.store, limit: c.store.alertPacketLimit).packets)
    }
}
