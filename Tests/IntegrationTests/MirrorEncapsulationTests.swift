import PacketCapture
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A live `bmad` (not replay) with one VM on a net_pcap port, the uplink on net_null and the
/// mirror on a net_pcap port writing OUT, for each mirror encapsulation; tshark must decode what
/// the collector would receive.
///
/// The VM sends 50 TCP SYNs (74 bytes each) to 50 ports of one host. With `learning_seconds: 0`
/// every packet is judged and each one uses a new service, so every one is mirrored, in order.
final class MirrorEncapsulationTests: IntegrationTestCase {
    static let vmID = 300 // fits ERSPAN's 10-bit session id, and needs two bytes of the VNI
    static let vmMAC = DetectionFrames.mac("02:00:00:00:01:2c")
    static let gateway = DetectionFrames.mac("02:00:00:00:00:fe")
    static let vmIP = DetectionFrames.ip("10.1.0.5")
    static let target = DetectionFrames.ip("198.51.100.7")
    static let collector = "192.0.2.10"
    static let sourceIP = "192.0.2.1"
    static let nextHop = "02:00:00:00:00:99"
    static let ports: [UInt16] = (0..<50).map { 1000 + 7 * UInt16($0) }
    static let t0: UInt64 = 1_700_000_000 * 1_000_000_000

    struct LiveRun {
        var records: [PcapRecord]
        var path: String
        var vm: DetectionSummary.VM
        var summary: DetectionSummary
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard geteuid() == 0 else { throw XCTSkip("needs root: a live bmad (EAL runtime directory under /var/run/dpdk)") }
        guard DetectionTshark.path != nil else { throw XCTSkip("tshark is not installed") }
    }

    /// The VM's capture: the SYNs, 1 ms apart, microsecond timestamps.
    func vmCapture(in scratch: ScratchDirectory) throws -> (path: String, frames: [[UInt8]], times: [UInt64]) {
        let frames = Self.ports.enumerated().map { i, port in
            DetectionFrames.tcpSyn(from: Self.vmMAC, to: Self.gateway, Self.vmIP, Self.target,
                                   sourcePort: 40000 + UInt16(i), destinationPort: port, sequence: 0x1000_0000 &+ UInt32(i) &* 7919)
        }
        let times = frames.indices.map { Self.t0 + UInt64($0) * 1_000_000 }
        let path = scratch.file("vm.pcap")
        let writer = try PcapWriter(path: path)
        for (f, t) in zip(frames, times) { try writer.write(timestampNanoseconds: t, data: f) }
        try writer.close()
        return (path, frames, times)
    }

    /// Runs bmad until its VM port has been idle 1.5 s, and reads what the mirror port wrote.
    func runLive(encapsulation: String, snaplen: Int = 0, capture: String, in scratch: ScratchDirectory, label: String) throws -> LiveRun {
        let bmad = try TestEnvironment.binary("bmad")
        let out = scratch.file("\(label)-mirror.pcap")
        let summaryPath = scratch.file("\(label)-summary.json")
        let config = try scratch.write("""
            uplink: 'net_null0,no-rx=1'
            mirror:
              devargs: 'net_pcap1,tx_pcap=\(out)'
              encapsulation: \(encapsulation)
              collectors: [\(Self.collector)]
              next_hop_mac: '\(Self.nextHop)'
              source_ip: \(Self.sourceIP)
              snaplen: \(snaplen)
            detection:
              learning_seconds: 0
            control:
              socket: '\(scratch.file("\(label).sock"))'
              state_dir: '\(scratch.file("\(label)-state"))'
            vms:
              - name: vm300
                id: \(Self.vmID)
                devargs: 'net_pcap0,rx_pcap=\(capture)'

            """, to: "\(label).yaml")
        let prefix = DPDKRuntime.newPrefix("mirror-\(label)")
        let child = try ChildProcess(
            name: "bmad-\(label)", executable: bmad,
            arguments: ["-l", "0,1", "--no-huge", "-m", "512", "--file-prefix", prefix, "--no-pci",
                        "--", "--config", config, "--summary-json", summaryPath, "--exit-when-idle", "1500"],
            directory: scratch.path)
        child.afterExit.append { DPDKRuntime.removeFiles(prefix: prefix) }
        let status: ExitStatus
        do {
            status = try child.waitForExit(timeout: 30)
        } catch {
            child.kill(signal: SIGKILL)
            throw error
        }
        guard status == .exited(0) else { throw ScratchError(message: "bmad (\(label)): \(status)\n\(child.outputTail())") }
        let summary = try DetectionSummary.read(path: summaryPath)
        let run = LiveRun(records: try PcapCapture.read(path: out).records, path: out, vm: try summary.vm("vm300"), summary: summary)
        // Every SYN was judged anomalous and copied once.
        XCTAssertEqual(run.vm.outgoing, UInt64(Self.ports.count), "\(label): outgoing")
        XCTAssertEqual(run.vm.forwarded, UInt64(Self.ports.count), "\(label): forwarded")
        XCTAssertEqual(run.vm.anomalous, UInt64(Self.ports.count), "\(label): anomalous")
        XCTAssertEqual(run.vm.mirrored, UInt64(Self.ports.count), "\(label): mirrored")
        XCTAssertEqual(run.summary.mirror.sent, UInt64(Self.ports.count), "\(label): mirror.sent")
        XCTAssertEqual(run.records.count, Self.ports.count, "\(label): records in the mirror capture")
        XCTAssertEqual(run.summary.mirror.nombuf + run.summary.mirror.ringfull + run.summary.mirror.tooBig, 0, "\(label): mirror drops")
        return run
    }

    private func fields(_ run: LiveRun, _ names: [String], in scratch: ScratchDirectory, label: String) throws -> [[String: String]] {
        let rows = try DetectionTshark.fields(run.path, names, in: scratch, label: label)
        XCTAssertEqual(rows.count, Self.ports.count, "\(label): tshark rows")
        return rows.map { row in
            Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset < row.count ? row[$0.offset] : "") })
        }
    }

    /// tshark prints some integer fields in hex ("0xfff0"), others in decimal.
    private func number(_ text: String?) -> UInt64? {
        guard let text, !text.isEmpty else { return nil }
        if text.hasPrefix("0x") { return UInt64(text.dropFirst(2), radix: 16) }
        return UInt64(text)
    }

    private func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.filter(\.isHexDigit))
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0...$0 + 1]), radix: 16) }
    }

    // MARK: Tests

    func testNoneSendsTheOriginalFrames() throws {
        let scratch = try makeScratch()
        let vm = try vmCapture(in: scratch)
        let run = try runLive(encapsulation: "none", capture: vm.path, in: scratch, label: "none")
        XCTAssertTrue(run.records.map(\.data) == vm.frames, "mirror capture = the VM's frames, byte for byte, in order")
        let rows = try fields(run, ["eth.src", "ip.src", "ip.dst", "tcp.dstport", "tcp.flags.syn"], in: scratch, label: "none")
        XCTAssertEqual(rows.map { number($0["tcp.dstport"]).map { UInt16($0) } }, Self.ports.map { Optional($0) })
        for r in rows {
            XCTAssertEqual(r["eth.src"], Self.vmMAC.description)
            XCTAssertEqual(r["ip.src"], Self.vmIP.description)
            XCTAssertEqual(r["ip.dst"], Self.target.description)
        }
    }

    func testVXLANCarriesTheVMIDAsVNIAndTheWholeFrame() throws {
        let scratch = try makeScratch()
        let vm = try vmCapture(in: scratch)
        let run = try runLive(encapsulation: "vxlan", capture: vm.path, in: scratch, label: "vxlan")
        for (i, r) in run.records.enumerated() {
            XCTAssertEqual(r.data.count, 50 + 74, "vxlan frame \(i): length")
            XCTAssertTrue(Array(r.data.dropFirst(50)) == vm.frames[i], "vxlan frame \(i): the inner frame is the original")
        }
        let rows = try fields(run, ["eth.dst", "ip.src", "ip.dst", "udp.dstport", "vxlan.vni", "tcp.dstport"], in: scratch, label: "vxlan")
        for (i, r) in rows.enumerated() {
            XCTAssertEqual(r["vxlan.vni"], String(Self.vmID), "vxlan frame \(i): VNI")
            XCTAssertEqual(r["udp.dstport"], "4789", "vxlan frame \(i): UDP port")
            XCTAssertEqual(r["tcp.dstport"], String(Self.ports[i]), "vxlan frame \(i): inner TCP port")
            XCTAssertEqual(r["ip.src"], "\(Self.sourceIP),\(Self.vmIP)", "vxlan frame \(i): outer, inner source")
            XCTAssertEqual(r["ip.dst"], "\(Self.collector),\(Self.target)", "vxlan frame \(i): outer, inner destination")
            XCTAssertEqual(r["eth.dst"], "\(Self.nextHop),\(Self.gateway)", "vxlan frame \(i): next hop, inner destination")
        }
    }

    func testGeneveCarriesTheVNIAndTheBMAOption() throws {
        let scratch = try makeScratch()
        let vm = try vmCapture(in: scratch)
        let run = try runLive(encapsulation: "geneve", capture: vm.path, in: scratch, label: "geneve")
        for (i, r) in run.records.enumerated() {
            XCTAssertEqual(r.data.count, 78 + 74, "geneve frame \(i): length")
            XCTAssertTrue(Array(r.data.dropFirst(78)) == vm.frames[i], "geneve frame \(i): the inner frame is the original")
        }
        let rows = try fields(run, ["udp.dstport", "geneve.vni", "geneve.proto_type", "geneve.option.class", "geneve.option.type",
                                    "geneve.option.length", "geneve.option.unknown.data", "ip.dst", "tcp.dstport"],
                              in: scratch, label: "geneve")
        var timestamps: [UInt64] = []
        for (i, r) in rows.enumerated() {
            XCTAssertEqual(r["udp.dstport"], "6081", "geneve frame \(i): UDP port")
            XCTAssertEqual(number(r["geneve.vni"]), UInt64(Self.vmID), "geneve frame \(i): VNI")
            XCTAssertEqual(number(r["geneve.proto_type"]), 0x6558, "geneve frame \(i): Ethernet inside")
            XCTAssertEqual(number(r["geneve.option.class"]), 0xFFF0, "geneve frame \(i): option class")
            XCTAssertEqual(number(r["geneve.option.type"]), 0x42, "geneve frame \(i): option type")
            XCTAssertEqual(r["ip.dst"], "\(Self.collector),\(Self.target)", "geneve frame \(i): outer, inner destination")
            XCTAssertEqual(r["tcp.dstport"], String(Self.ports[i]), "geneve frame \(i): inner TCP port")
            let data = bytes(hex: r["geneve.option.unknown.data"] ?? "")
            guard data.count == 24 else {
                XCTFail("geneve frame \(i): option data is \(data.count) bytes ('\(r["geneve.option.unknown.data"] ?? "")'), expected 24")
                continue
            }
            let be32 = { (o: Int) -> UInt32 in data[o..<o + 4].reduce(0) { $0 << 8 | UInt32($1) } }
            let ts = UInt64(be32(16)) << 32 | UInt64(be32(20))
            XCTAssertEqual(data[0], 1, "geneve frame \(i): option version")
            XCTAssertEqual(data[1], 0, "geneve frame \(i): flags (not pre-trigger, sticky, truncated or forced)")
            XCTAssertNotEqual(be32(4) & 0x2, 0, "geneve frame \(i): reasons include new-service (bits \(be32(4)))")
            XCTAssertGreaterThanOrEqual(be32(8), 1000, "geneve frame \(i): score × 1000 at or above the threshold")
            XCTAssertEqual(be32(12), 74, "geneve frame \(i): original length")
            timestamps.append(ts)
        }
        XCTAssertEqual(timestamps.count, Self.ports.count)
        XCTAssertTrue(zip(timestamps, timestamps.dropFirst()).allSatisfy { $0 <= $1 }, "geneve timestamps never go back")
        // net_pcap stamps every mbuf with its capture time: the metadata carries it.
        XCTAssertEqual(timestamps, vm.times, "geneve timestamps are the capture times of the frames")
    }

    func testERSPANTypeIICarriesTheVMIDAsSessionID() throws {
        let scratch = try makeScratch()
        let vm = try vmCapture(in: scratch)
        let run = try runLive(encapsulation: "erspan2", capture: vm.path, in: scratch, label: "erspan2")
        for (i, r) in run.records.enumerated() {
            XCTAssertEqual(r.data.count, 50 + 74, "erspan frame \(i): length")
            XCTAssertTrue(Array(r.data.dropFirst(50)) == vm.frames[i], "erspan frame \(i): the inner frame is the original")
        }
        let rows = try fields(run, ["ip.proto", "gre.proto", "erspan.version", "erspan.spanid", "erspan.truncated", "ip.dst", "tcp.dstport"],
                              in: scratch, label: "erspan2")
        for (i, r) in rows.enumerated() {
            XCTAssertEqual(r["ip.proto"], "47,6", "erspan frame \(i): GRE outside, TCP inside")
            XCTAssertEqual(number(r["gre.proto"]), 0x88BE, "erspan frame \(i): GRE protocol ERSPAN II")
            XCTAssertEqual(number(r["erspan.version"]), 1, "erspan frame \(i): ERSPAN version (1 = type II)")
            XCTAssertEqual(number(r["erspan.spanid"]), UInt64(Self.vmID), "erspan frame \(i): session id")
            XCTAssertEqual(number(r["erspan.truncated"]), 0, "erspan frame \(i): not truncated")
            XCTAssertEqual(r["ip.dst"], "\(Self.collector),\(Self.target)", "erspan frame \(i): outer, inner destination")
            XCTAssertEqual(r["tcp.dstport"], String(Self.ports[i]), "erspan frame \(i): inner TCP port")
        }
    }

    func testSnaplenTruncatesCopiesAndSetsTheTruncatedFlag() throws {
        let scratch = try makeScratch()
        let vm = try vmCapture(in: scratch)

        let geneve = try runLive(encapsulation: "geneve", snaplen: 64, capture: vm.path, in: scratch, label: "geneve64")
        for (i, r) in geneve.records.enumerated() {
            XCTAssertEqual(r.data.count, 78 + 64, "geneve/64 frame \(i): length")
            XCTAssertTrue(Array(r.data.dropFirst(78)) == Array(vm.frames[i].prefix(64)), "geneve/64 frame \(i): the first 64 bytes of the original")
        }
        let rows = try fields(geneve, ["geneve.vni", "geneve.option.class", "geneve.option.unknown.data", "tcp.dstport"],
                              in: scratch, label: "geneve64")
        for (i, r) in rows.enumerated() {
            XCTAssertEqual(number(r["geneve.vni"]), UInt64(Self.vmID), "geneve/64 frame \(i): VNI")
            XCTAssertEqual(number(r["geneve.option.class"]), 0xFFF0, "geneve/64 frame \(i): option class")
            XCTAssertEqual(r["tcp.dstport"], String(Self.ports[i]), "geneve/64 frame \(i): inner TCP port (within 64 bytes)")
            let data = bytes(hex: r["geneve.option.unknown.data"] ?? "")
            guard data.count == 24 else {
                XCTFail("geneve/64 frame \(i): option data is \(data.count) bytes")
                continue
            }
            XCTAssertEqual(data[1] & 0x04, 0x04, "geneve/64 frame \(i): truncated flag (flags \(data[1]))")
            XCTAssertEqual(data[1] & ~0x04, 0, "geneve/64 frame \(i): no other flag")
            XCTAssertEqual(data[12..<16].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, 74, "geneve/64 frame \(i): original length")
        }

        let erspan = try runLive(encapsulation: "erspan2", snaplen: 64, capture: vm.path, in: scratch, label: "erspan64")
        let erows = try fields(erspan, ["erspan.spanid", "erspan.truncated", "tcp.dstport"], in: scratch, label: "erspan64")
        for (i, r) in erows.enumerated() {
            XCTAssertEqual(erspan.records[i].data.count, 50 + 64, "erspan/64 frame \(i): length")
            XCTAssertEqual(number(r["erspan.spanid"]), UInt64(Self.vmID), "erspan/64 frame \(i): session id")
            XCTAssertEqual(number(r["erspan.truncated"]), 1, "erspan/64 frame \(i): T bit")
            XCTAssertEqual(r["tcp.dstport"], String(Self.ports[i]), "erspan/64 frame \(i): inner TCP port")
        }
    }
}
