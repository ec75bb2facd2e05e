import Control
import ControlProtocol
import Foundation
import PacketCapture
import XCTest

/// The names a VM's baseline learned read as text: a real DNS answer of the lock hub's week,
/// from the uplink, names the cloud broker the hub then talks to; `vm.show` lists the name, the
/// baseline export carries it, and a restarted bmad shows it again from its saved baseline.
final class DetectionNameTextTests: ControlTestCase {
    static let broker = "a1guxefynxg.iot-as-mqtt.us-west-1.aliyuncs.com"

    /// The week's first DNS response (UDP from port 53) toward `hub` that answers for the broker,
    /// the 32 frames the hub sent before it (its query among them) and the 96 it sent after it.
    /// Whole bursts: the worker reads the VM's pipe 32 frames at a time.
    static func answerAndAround(_ capture: PcapCapture, hub: UInt64) -> (answer: PcapRecord, before: [PcapRecord], after: [PcapRecord])? {
        let name = Array("iot-as-mqtt".utf8)
        func dst(_ f: [UInt8]) -> UInt64 { f.prefix(6).reduce(0) { $0 << 8 | UInt64($1) } }
        func src(_ f: [UInt8]) -> UInt64 { f.dropFirst(6).prefix(6).reduce(0) { $0 << 8 | UInt64($1) } }
        for (i, r) in capture.records.enumerated() {
            let f = r.data
            guard f.count > 60, dst(f) == hub else { continue }
            var l3 = 14 // after the VLAN tags (the hub's traffic is on VLAN 100)
            while l3 < 22, f[l3 - 2] == 0x81 || f[l3 - 2] == 0x88, f[l3 - 1] == 0x00 || f[l3 - 1] == 0xa8 { l3 += 4 }
            guard f[l3 - 2] == 0x08, f[l3 - 1] == 0x00, f[l3 + 9] == 17 else { continue }
            let l4 = l3 + Int(f[l3] & 0x0f) * 4
            guard f.count > l4 + 8, f[l4] == 0, f[l4 + 1] == 53 else { continue }
            guard f.indices.contains(where: { f[$0...].starts(with: name) }) else { continue }
            let before = capture.records[..<i].filter { src($0.data) == hub }.suffix(32)
            let after = capture.records[(i + 1)...].lazy.filter { src($0.data) == hub }.prefix(96)
            guard before.count == 32, after.count == 96 else { return nil }
            return (r, Array(before), Array(after))
        }
        return nil
    }

    func testTheBrokersNameReadsAsTextInVMShowTheExportAndAfterARestart() throws {
        let scratch = try makeScratch()
        let capture = try PcapCapture.read(path: try TestEnvironment.capture("benign-lockhub-week.pcap"))
        let hub = try XCTUnwrap(CaptureSummary(records: capture.records).mostFrequentSourceMAC)
        let (answer, before, after) = try XCTUnwrap(Self.answerAndAround(capture, hub: hub.rawValue), "no answer for the broker")
        let uplinkIn = scratch.file("uplink-in.pcap"), empty = scratch.file("empty.pcap")
        let writer = try PcapWriter(path: uplinkIn, resolution: .nanoseconds)
        try writer.write(timestampNanoseconds: answer.timestampNanoseconds, data: answer.data)
        try writer.close()
        try PcapFiles.write([], to: empty)

        func config(uplinkRx: String, fifo: String) -> ControlDaemonConfig {
            ControlDaemonConfig(uplink: "net_pcap9,rx_pcap=\(uplinkRx),tx_pcap=\(scratch.file("uplink-out.pcap"))",
                                vms: [.init(name: "hub", id: 5, devargs: "net_pcap0,rx_pcap=\(fifo)", mac: hub.description)],
                                socket: scratch.file("bmad.sock"), stateDirectory: scratch.file("state"))
        }
        func timed(_ records: [PcapRecord]) -> [ControlTimedFrame] {
            records.map { ControlTimedFrame(ns: $0.timestampNanoseconds / 1000 * 1000, bytes: $0.data) }
        }
        // First run: what the hub sent up to its query, then (the worker waits in the read of the
        // hub's pipe until then) the answer from the uplink, then what the hub sent after it.
        let fifo1 = try scratch.fifo("hub1.pcap")
        let (bmad, streams) = try startDaemon(config(uplinkRx: uplinkIn, fifo: fifo1), in: scratch, pipes: [fifo1])
        let client = try bmad.client()
        try streams[0].send(timed(before))
        try bmad.waitForForwarded(client, vm: "hub", before.count)
        var shown: JSONValue = .null
        try waitUntil("vm.show holds the answer's name", timeout: 20, context: { "\(shown)\n" + bmad.child.outputTail() }) {
            shown = try client.call("vm.show", params: ["vm": "hub"])
            return (shown["dns_names"]?.intValue ?? 0) >= 1
        }
        XCTAssertEqual(shown["names"]?.arrayValue?.count ?? 0, 0, "nothing learned under the name yet: \(shown)")
        let frames = timed(Array(after.prefix(64)))
        try streams[0].send(frames)
        try bmad.waitForForwarded(client, vm: "hub", before.count + frames.count)
        shown = try client.call("vm.show", params: ["vm": "hub"])
        XCTAssertEqual(shown["names"]?.arrayValue?.compactMap(\.stringValue), [Self.broker], "\(shown)")

        // The export goes through the worker, which waits in the read of the pipe: the last
        // burst lets it take the request.
        let export = try bmad.callThroughWorker("baseline.export", params: ["vm": "hub"], stream: streams[0],
                                                fillers: timed(Array(after.suffix(32))))
        let hosts = export["baseline"]?["hosts"]?.arrayValue ?? []
        let named = hosts.filter { $0["name"] != nil }
        XCTAssertEqual(named.compactMap { $0["name"]?.stringValue }, [Self.broker], "\(hosts)")
        XCTAssertEqual(named.first?["k0"]?.stringValue, "fffd000000000000")
        print("\(name): vm.show names \(shown["names"].map { "\($0)" } ?? "-"); \(hosts.count) hosts, \(frames.count) frames")

        // Stopped, the baseline is saved with the name's text ...
        streams[0].close()
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
        let saved = try String(contentsOfFile: scratch.file("state/baseline-hub.json"), encoding: .utf8)
        XCTAssertTrue(saved.contains("\"name\":\"\(Self.broker)\""), "the saved baseline names the broker")

        // ... and a restarted bmad, which sees no answer, shows it again.
        let fifo2 = try scratch.fifo("hub2.pcap")
        let (again, streams2) = try startDaemon(config(uplinkRx: empty, fifo: fifo2), in: scratch, name: "bmad2", pipes: [fifo2])
        let shownAgain = try again.client().call("vm.show", params: ["vm": "hub"])
        XCTAssertEqual(shownAgain["dns_names"]?.intValue, 0)
        XCTAssertEqual(shownAgain["names"]?.arrayValue?.compactMap(\.stringValue), [Self.broker], "\(shownAgain)")
        streams2[0].close()
        XCTAssertEqual(try again.stop(), .exited(0), again.child.outputTail())
    }
}
