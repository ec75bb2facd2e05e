import Analysis
import BMAContract
import Foundation
import Testing
@testable import Console

/// The pages over a real store: packets with bmad's metadata, an alert, its packets as pcap.
@Suite("Console: pages over a store")
struct ConsolePagesTests {
    static let t0: UInt64 = 1_700_000_000_000_000_000
    static let scanner = "10.0.0.5", target = "10.0.0.9", other = "10.0.0.77"

    /// An Ethernet/IPv4/TCP SYN.
    static func syn(_ src: String, _ dst: String, port: UInt16) -> [UInt8] {
        func ip(_ s: String) -> [UInt8] { s.split(separator: ".").map { UInt8($0)! } }
        let eth: [UInt8] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]
        let ipv4: [UInt8] = [0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0] + ip(src) + ip(dst)
        let tcp: [UInt8] = [0x9C, 0x40, UInt8(port >> 8), UInt8(port & 0xFF), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x04, 0, 0, 0, 0, 0]
        return eth + ipv4 + tcp
    }

    static func packet(_ frame: [UInt8], at ns: UInt64, reasons: Reason) -> MirroredPacket {
        MirroredPacket(receivedNs: ns, timestampNs: ns, sensor: "hv1", vmID: 7, encapsulation: .geneve,
                       metadata: BMAMetadata(flags: [.sticky], policyID: 0, reasons: reasons, scoreMilli: 2500,
                                             originalLength: UInt32(frame.count), timestampNs: ns),
                       frame: frame, originalLength: UInt32(frame.count))
    }

    /// A store with 30 probes of the target and 5 packets to another host, and a scan alert.
    static func makeStore() throws -> (ConsoleStore, String, StoredAlert) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("console-pages-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        var config = CaptureStoreConfiguration()
        config.minFreeBytes = 0
        let store = try CaptureStore(directory: dir, configuration: config)
        for i in 0..<30 {
            _ = store.append(packet(syn(scanner, target, port: UInt16(100 + i)), at: t0 + UInt64(i) * 10_000_000, reasons: [.portScan, .newService]))
        }
        for i in 0..<5 {
            _ = store.append(packet(syn(scanner, other, port: 443), at: t0 + UInt64(i) * 10_000_000 + 1, reasons: [.newDestination]))
        }
        store.flush()
        let alert = AlertBuilder(vmNames: [7: "web7"]).alert(
            Alert.Signature(signature: "BMA SCAN <test> scan", signature_id: 1, category: "Scan", severity: 1), module: "scan",
            packet: packet(syn(scanner, target, port: 129), at: t0 + 290_000_000, reasons: [.portScan]),
            flow: FlowKey(srcIP: scanner, dstIP: target, proto: 6, srcPort: 40000, dstPort: 129), details: ["window_s": "60"])
        #expect(store.insertAlert(alert))
        return (ConsoleStore(store: store, vmNames: [7: "web7"]), dir, StoredAlert(alert))
    }

    static func pages(_ store: ConsoleStore) -> ConsolePages {
        ConsolePages(store: store, storeLabel: "test", parseTime: { UInt64($0).map { $0 * 1_000_000_000 } })
    }

    @Test("fleet, VM, alerts, alert and actions pages show what the store holds")
    func everyPage() throws {
        let (store, dir, alert) = try Self.makeStore()
        defer { store.store.close(); try? FileManager.default.removeItem(atPath: dir) }
        let pages = Self.pages(store)
        let none = ConsoleRequest(query: [:])
        let overview = String(decoding: try pages.overview(none).body, as: UTF8.self)
        #expect(overview.contains("web7 (7)"))
        #expect(overview.contains("port-scan 30"), "the VM's top reasons")
        #expect(overview.contains("&lt;test&gt;") && !overview.contains("<test>"), "a signature is escaped")
        let vm = String(decoding: try pages.vm(7, none).body, as: UTF8.self)
        #expect(vm.contains("<title>port-scan</title>") && vm.contains("<title>new-destination</title>"))
        #expect(vm.contains("sticky 35"))
        #expect(vm.contains("\(Self.target) tcp/100"))
        #expect(try pages.vm(nil, none).status == 404)
        let filtered = String(decoding: try pages.alerts(ConsoleRequest(query: ["vm": "web8"])).body, as: UTF8.self)
        #expect(filtered.contains("No alerts in this range."))
        let page = String(decoding: try pages.alert(alert.id, none).body, as: UTF8.self)
        #expect(page.contains("Download its 30 packets (pcap)"), "the probes of the target, not the other host's")
        #expect(try pages.alert("1-0", none).status == 404)
        #expect(try pages.alert("nonsense", none).status == 404)
        #expect(String(decoding: try pages.actions(none).body, as: UTF8.self).contains("No response actions are configured"))
        #expect(throws: ConsoleError.self) { try pages.overview(ConsoleRequest(query: ["since": "soon"])) }
        #expect(throws: ConsoleError.self) { try pages.overview(ConsoleRequest(query: ["since": "2000000000", "until": "1"])) }
    }

    @Test("an alert's pcap: the packets between its two hosts in its window, as classic pcap")
    func alertPcap() throws {
        let (store, dir, alert) = try Self.makeStore()
        defer { store.store.close(); try? FileManager.default.removeItem(atPath: dir) }
        let response = try Self.pages(store).alertPcap(alert.id, ConsoleRequest(query: [:]))
        #expect(response.status == 200)
        #expect(response.fileName == "alert-\(alert.id).pcap")
        let b = response.body
        #expect(Array(b.prefix(4)) == [0x4D, 0x3C, 0xB2, 0xA1], "nanosecond pcap, little-endian")
        var offset = 24, count = 0
        while offset + 16 <= b.count {
            let length = Int(b[offset + 8]) | Int(b[offset + 9]) << 8 | Int(b[offset + 10]) << 16 | Int(b[offset + 11]) << 24
            let frame = Array(b[(offset + 16)..<(offset + 16 + length)])
            #expect(Array(frame[30..<34]) == [10, 0, 0, 9], "to the alert's target only")
            offset += 16 + length
            count += 1
        }
        #expect(offset == b.count)
        #expect(count == 30)
    }

    @Test("an empty store: every page renders and says there is nothing")
    func emptyStore() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("console-empty-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        var config = CaptureStoreConfiguration()
        config.minFreeBytes = 0
        let store = try CaptureStore(directory: dir, configuration: config)
        defer { store.close(); try? FileManager.default.removeItem(atPath: dir) }
        let pages = Self.pages(ConsoleStore(store: store, vmNames: [:]))
        let none = ConsoleRequest(query: [:])
        let overview = try pages.overview(none)
        #expect(overview.status == 200)
        let text = String(decoding: overview.body, as: UTF8.self)
        #expect(text.contains("No VM had packets mirrored or alerts raised in this range."))
        #expect(text.contains("nothing in this range"), "an empty plot says so")
        #expect(try pages.vm(1, none).status == 200)
        #expect(try pages.alerts(none).status == 200)
    }

    @Test("a report: the pages as files with relative links, and each alert's pcap")
    func report() throws {
        let (store, dir, alert) = try Self.makeStore()
        defer { store.store.close(); try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "-report"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let summary = try StaticReport.write(store: store, range: TimeRange(since: Self.t0 - 1_000_000_000, until: Self.t0 + 1_000_000_000),
                                             vm: nil, to: out, storeLabel: "test")
        #expect(Set(summary.files) == ["index.html", "vm-7.html", "alerts.html", "alert-\(alert.id).html", "pcap/alert-\(alert.id).pcap", "actions.html"])
        #expect(summary.vms == 1 && summary.alerts == 1)
        let index = try String(contentsOfFile: out + "/index.html", encoding: .utf8)
        #expect(index.contains("href=\"vm-7.html\"") && !index.contains("href=\"/"))
    }
}
