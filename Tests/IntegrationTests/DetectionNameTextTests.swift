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
    /// and the hub's next frames within two minutes of it (at most 200).
    static func answerAndFollowing(_ capture: PcapCapture, hub: UInt64) -> (answer: PcapRecord, following: [PcapRecord])? {
        let name = Array("iot-as-mqtt".utf8)
        func dst(_ f: [UInt8]) -> UInt64 { f.prefix(6).reduce(0) { $0 << 8 | UInt64($1) } }
        func src(_ f: [UInt8]) -> UInt64 { f.dropFirst(6).prefix(6).reduce(0) { $0 << 8 | UInt64($1) } }
        for (i, r) in capture.records.enumerated() {
            let f = r.data
            guard f.count > 42, dst(f) == hub, f[12] == 0x08, f[13] == 0x00, f[23] == 17 else { continue }
            let l4 = 14 + Int(f[14] & 0x0f) * 4
            guard f.count > l4 + 8, f[l4] == 0, f[l4 + 1] == 53 else { continue }
            guard f.indices.contains(where: { f[$0...].starts(with: name) }) else { continue }
            let following = capture.records[(i + 1)...].prefix { $0.timestampNanoseconds <= r.timestampNanoseconds + 120_000_000_000 }
                .filter { src($0.data) == hub }.prefix(200)
            return (r, Array(following))
        }
        return nil
    }

    func testTheBrokersNameReadsAsTextInVMShowTheExportAndAfterARestart() throws {
        let scratch = try makeScratch()
        let capture = try PcapCapture.read(path: try TestEnvironment.capture("benign-lockhub-week.pcap"))
        let hub = try XCTUnwrap(CaptureSummary(records: capture.records).mostFrequentSourceMAC)
        let (answer, following) = try XCTUnwrap(Self.answerAndFollowing(capture, hub: hub.rawValue), "no answer for the broker")
        XCTAssertGreaterThan(following.count, 10)
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
        // First run: the answer comes from the uplink before the hub sends anything.
        let fifo1 = try scratch.fifo("hub1.pcap")
        let (bmad, streams) = try startDaemon(config(uplinkRx: uplinkIn, fifo: fifo1), in: scratch, pipes: [fifo1])
        let client = try bmad.client()
        var shown: JSONValue = .null
        try waitUntil("vm.show holds the answer's name", timeout: 20, context: { "\(shown)\n" + bmad.child.outputTail() }) {
            shown = try client.call("vm.show", params: ["vm": "hub"])
            return (shown["dns_names"]?.intValue ?? 0) >= 1
        }
        XCTAssertEqual(shown["names"]?.arrayValue?.count ?? 0, 0, "nothing learned under the name yet: \(shown)")
        let frames = following.map { ControlTimedFrame(ns: $0.timestampNanoseconds / 1000 * 1000, bytes: $0.data) }
        try streams[0].send(frames)
        try bmad.waitForForwarded(client, vm: "hub", frames.count)
        shown = try client.call("vm.show", params: ["vm": "hub"])
        XCTAssertEqual(shown["names"]?.arrayValue?.compactMap(\.stringValue), [Self.broker], "\(shown)")

        let export = try client.call("baseline.export", params: ["vm": "hub"])
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
        let (again, _) = try startDaemon(config(uplinkRx: empty, fifo: fifo2), in: scratch, name: "bmad2", pipes: [fifo2])
        let shownAgain = try again.client().call("vm.show", params: ["vm": "hub"])
        XCTAssertEqual(shownAgain["dns_names"]?.intValue, 0)
        XCTAssertEqual(shownAgain["names"]?.arrayValue?.compactMap(\.stringValue), [Self.broker], "\(shownAgain)")
        XCTAssertEqual(try again.stop(), .exited(0), again.child.outputTail())
    }
}
