import Foundation
import Testing
@testable import Analysis

@Suite("store queries, exports, alerts, recovery")
struct StoreQueryTests {
    static func makeStore(_ directory: TemporaryDirectory, clock: StoreTestClock = StoreTestClock()) throws -> (CaptureStore, String) {
        let path = directory.file("store")
        // 16 KiB segments with readable comments: the 300 packets spread over many of them.
        var configuration = StoreSetup.configuration(clock: clock, segmentBytes: 16 << 10, bufferBytes: 4096)
        configuration.packetComments = true
        let store = try CaptureStore(directory: path, configuration: configuration)
        return (store, path)
    }

    static func flowOf(_ packet: MirroredPacket) -> FlowKey? {
        FlowTuple(frame: packet.frame)?.flowKey
    }

    @Test("query by VM, time and flow returns exactly the right packets")
    func queries() throws {
        let directory = try TemporaryDirectory()
        let (store, _) = try Self.makeStore(directory)
        let packets = StorePackets.mixed(count: 300)
        for packet in packets { #expect(store.append(packet) != nil) }
        #expect(try store.segments().count > 5)

        #expect(try store.query() == packets)
        for vm: UInt32 in [7, 8, 9, 10] {
            #expect(try store.query(vm: vm) == packets.filter { $0.vmID == vm })
        }
        let since = packets[40].timestampNs, until = packets[230].timestampNs
        #expect(try store.query(since: since, until: until) == Array(packets[40...230]))
        #expect(try store.query(since: since) == Array(packets[40...]))
        #expect(try store.query(until: until) == Array(packets[...230]))
        #expect(try store.query(since: packets.last!.timestampNs + 1).isEmpty)

        // TCP flow, both directions.
        let tcp = FlowKey(srcIP: "10.0.0.5", dstIP: "203.0.113.7", proto: 6, srcPort: 40000, dstPort: 443)
        let tcpPackets = packets.filter { Self.flowOf($0) == tcp || Self.flowOf($0) == tcp.reversed }
        #expect(!tcpPackets.isEmpty && tcpPackets.contains { Self.flowOf($0) == tcp.reversed })
        #expect(try store.query(flow: tcp) == tcpPackets)
        #expect(try store.query(flow: tcp.reversed) == tcpPackets)
        // Another flow between the same hosts is not included.
        #expect(try store.query(flow: FlowKey(srcIP: "10.0.0.5", dstIP: "203.0.113.7", proto: 6, srcPort: 40001, dstPort: 443))
            == packets.filter { Self.flowOf($0)?.srcPort == 40001 })
        // ICMP echo: requests and replies are one flow (Community ID).
        let echo = FlowKey(srcIP: "10.0.0.5", dstIP: "198.51.100.9", proto: 1, srcPort: 8, dstPort: 0)
        let icmp = packets.filter { Self.flowOf($0)?.proto == 1 }
        #expect(icmp.contains { Self.flowOf($0)?.srcPort == 0 } && icmp.contains { Self.flowOf($0)?.srcPort == 8 })
        #expect(try store.query(flow: echo) == icmp)
        // IPv6, with the addresses written differently.
        let ssh = FlowKey(srcIP: "2001:DB8:0::1", dstIP: "2001:db8::0:2", proto: 6, srcPort: 50000, dstPort: 22)
        #expect(try store.query(flow: ssh) == packets.filter { $0.encapsulation == .erspan2 })
        // Everything at once.
        #expect(try store.query(vm: 8, since: since, until: until, flow: tcp)
            == tcpPackets.filter { $0.vmID == 8 && $0.timestampNs >= since && $0.timestampNs <= until })
        // Flows that are not there.
        #expect(try store.query(flow: FlowKey(srcIP: "10.9.9.9", dstIP: "10.0.0.5", proto: 17, srcPort: 1, dstPort: 2)).isEmpty)
        #expect(try store.query(flow: FlowKey(srcIP: "bad", dstIP: "worse", proto: 6, srcPort: 1, dstPort: 2)).isEmpty)
        // Non-IP packets (ARP) are found by VM and time.
        #expect(try store.query(vm: 7).filter { $0.encapsulation == .pcap } == packets.filter { $0.vmID == 7 && Self.flowOf($0) == nil })

        // The same answers with part of the stream still buffered (not flushed, not committed).
        let more = StorePackets.mixed(count: 5, start: packets.last!.timestampNs + 1_000, seed: 99)
        for packet in more { store.append(packet) }
        #expect(try store.query(since: more[0].timestampNs) == more)
        #expect(try store.checkIndex().isConsistent)
    }

    @Test("writeQuery writes pcap and pcapng that tshark and our readers read", StoreTShark.required)
    func exports() throws {
        let directory = try TemporaryDirectory()
        let (store, _) = try Self.makeStore(directory)
        let packets = StorePackets.mixed(count: 200)
        for packet in packets { store.append(packet) }
        let expected = packets.filter { $0.vmID == 7 && $0.timestampNs >= packets[20].timestampNs }

        let ngPath = directory.file("vm7.pcapng")
        #expect(try store.writeQuery(vm: 7, since: packets[20].timestampNs, to: ngPath, format: .pcapng) == expected.count)
        var reader = try PcapNGReader(path: ngPath)
        #expect(try reader.readAll() == expected)
        #expect(try StoreTShark.count(ngPath) == expected.count)
        let verbose = try StoreTShark.run(["-r", ngPath, "-V"])
        #expect(verbose.output.contains(BMAPacketOption.comment(for: expected[0])))

        let pcapPath = directory.file("vm7.pcap")
        #expect(try store.writeQuery(vm: 7, since: packets[20].timestampNs, to: pcapPath, format: .pcap) == expected.count)
        let capture = try PcapCapture.read(path: pcapPath)
        #expect(capture.header.resolution == .nanoseconds)
        #expect(capture.records.map(\.data) == expected.map(\.frame))
        #expect(capture.records.map(\.timestampNanoseconds) == expected.map(\.timestampNs))
        #expect(capture.records.map(\.originalLength) == expected.map(\.originalLength))
        #expect(try StoreTShark.count(pcapPath) == expected.count)

        // A flow export, and an empty one.
        let tcp = FlowKey(srcIP: "203.0.113.7", dstIP: "10.0.0.5", proto: 6, srcPort: 443, dstPort: 40000)
        let flowPath = directory.file("flow.pcapng")
        let count = try store.writeQuery(flow: tcp, to: flowPath)
        let tsharkCount = try StoreTShark.count(flowPath)
        #expect(count > 0 && tsharkCount == count)
        let emptyPath = directory.file("empty.pcap")
        #expect(try store.writeQuery(vm: 12345, to: emptyPath, format: .pcap) == 0)
        #expect(try StoreTShark.count(emptyPath) == 0)
        // An export to a place that cannot be written is an error, not a crash.
        #expect(throws: CaptureStoreError.self) { try store.writeQuery(to: "/nonexistent/x.pcapng") }
    }

    @Test("appends from several threads while others query, maintain and read stats")
    func concurrentUse() throws {
        let directory = try TemporaryDirectory()
        let (store, _) = try Self.makeStore(directory)
        let writers = 4, perWriter = 300
        DispatchQueue.concurrentPerform(iterations: writers + 2) { worker in
            guard worker < writers else {
                for _ in 0..<15 {
                    _ = try? store.query(vm: 1, flow: FlowKey(srcIP: "10.0.0.5", dstIP: "203.0.113.7", proto: 6, srcPort: 40000, dstPort: 443))
                    _ = store.stats
                    store.maintain()
                }
                return
            }
            for index in 0..<perWriter {
                let sequence = UInt32(worker * 10_000 + index)
                store.append(StorePackets.tcp(vm: UInt32(worker), timestampNs: StorePackets.base + UInt64(index) * 100 + UInt64(worker),
                                              sequence: sequence))
            }
        }
        for worker in 0..<writers {
            let packets = try store.query(vm: UInt32(worker))
            #expect(packets.count == perWriter)
            // Each writer's packets are stored in the order it appended them.
            #expect(packets.map(\.timestampNs) == packets.map(\.timestampNs).sorted())
        }
        #expect(store.stats.packets == UInt64(writers * perWriter) && store.stats.dropped == 0)
        #expect(try store.checkIndex().isConsistent)
    }

    static func alert(vm: String, time: String, signature: String = "port scan", communityID: String? = nil) -> Alert {
        Alert(timestamp: time, flow_id: 42, community_id: communityID, src_ip: "10.0.0.5", src_port: 40000,
              dest_ip: "203.0.113.7", dest_port: 443, proto: "TCP", host: "192.0.2.1", vm: vm,
              alert: Alert.Signature(signature: signature, signature_id: 9_000_001, category: "Attempted Recon", severity: 2),
              bma: Alert.BMA(module: "scan", reasons: ["port-scan"], score: 1.5, count: 3, details: ["ports": "22,80"]),
              pcap: Alert.PcapReference(file: "seg-20231114-221320-000001.pcapng", packet: 7))
    }

    @Test("alerts: insert, query by VM and time, kept across reopening")
    func alerts() throws {
        let directory = try TemporaryDirectory()
        var (store, path) = try Self.makeStore(directory)
        let a1 = Self.alert(vm: "7", time: "2023-11-14T22:13:20.000001+0000", communityID: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=")
        let a2 = Self.alert(vm: "8", time: "2023-11-14T22:13:21.500000+0000", signature: "dns tunnel")
        let a3 = Self.alert(vm: "7", time: "2023-11-14T23:13:20.000000+01:00")  // same instant as the base, written in +01:00
        let a4 = Self.alert(vm: "7", time: "2023-11-14T22:14:00.000000+0000")
        for alert in [a4, a2, a1, a3] { #expect(store.insertAlert(alert)) }

        #expect(store.alerts(vm: "7", since: nil) == [a3, a1, a4])
        #expect(store.alerts(vm: "7", since: StorePackets.base + 1_000) == [a1, a4])
        #expect(store.alerts(vm: nil, since: StorePackets.base + 1_000_000_000) == [a2, a4])
        #expect(store.alerts(vm: "9", since: nil).isEmpty)
        #expect(try store.fetchAlerts(signature: "dns tunnel") == [a2])
        #expect(try store.fetchAlerts(limit: 2) == [a3, a1])

        store.close()
        store = try CaptureStore(directory: path, configuration: StoreSetup.configuration(clock: StoreTestClock()))
        #expect(store.alerts(vm: nil, since: nil) == [a3, a1, a2, a4])
        // The storage alert goes through the same path.
        let storage = CaptureStore.StorageAlert(reason: "No space left on device", sinceNs: StorePackets.base + 5_000_000_000, droppedPackets: 12)
            .alert(host: "analyzer-1", directory: path)
        #expect(store.insertAlert(storage))
        #expect(store.alerts(vm: "", since: StorePackets.base + 4_000_000_000) == [storage])
        #expect(storage.timestamp == "2023-11-14T22:13:25.000000+0000")
    }

    @Test("reopening after a crash: unclosed segments are cut to whole blocks and re-indexed, strays adopted, missing files forgotten")
    func recovery() throws {
        let directory = try TemporaryDirectory()
        let (store, path) = try Self.makeStore(directory)
        let packets = StorePackets.mixed(count: 300)
        for packet in packets { store.append(packet) }
        store.flush()
        let segments = try store.segments()
        #expect(segments.count >= 4 && segments.last?.closed == false)

        // A copy of the store as a crash would leave it: the open segment unclosed in the index,
        // half a block at its end.
        let copy = directory.file("copy")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            try FileManager.default.copyItem(atPath: (path as NSString).appendingPathComponent(name), toPath: (copy as NSString).appendingPathComponent(name))
        }
        let open = try #require(segments.last)
        let openCopy = (copy as NSString).appendingPathComponent(open.file)
        let handle = try #require(FileHandle(forWritingAtPath: openCopy))
        handle.seekToEndOfFile()
        handle.write(Data([6, 0, 0, 0, 200, 0, 0, 0, 0, 0]))
        try handle.close()
        // One closed segment lost, one stray segment from elsewhere.
        let lost = segments[1]
        try FileManager.default.removeItem(atPath: (copy as NSString).appendingPathComponent(lost.file))
        let stray = StorePackets.mixed(count: 5, start: StorePackets.base + 10_000_000_000, seed: 3)
        let strayWriter = try PcapNGWriter(path: (copy as NSString).appendingPathComponent("seg-20991231-235959-000500.pcapng"))
        for packet in stray { try strayWriter.write(packet) }
        try strayWriter.close()

        let recovered = try CaptureStore(directory: copy, configuration: StoreSetup.configuration(clock: StoreTestClock()))
        #expect(StoreFiles.size(openCopy) == open.bytes)
        let after = try recovered.segments()
        #expect(after.allSatisfy { $0.closed })
        #expect(after.map(\.file) == segments.filter { $0.id != lost.id }.map(\.file) + ["seg-20991231-235959-000500.pcapng"])
        var lostReader = try PcapNGReader(path: (path as NSString).appendingPathComponent(lost.file))
        let inLost = try lostReader.readAll()
        #expect(try recovered.query() == packets.filter { !inLost.contains($0) } + stray)
        #expect(try recovered.query(vm: 8) == (packets.filter { !inLost.contains($0) } + stray).filter { $0.vmID == 8 })
        #expect(try recovered.checkIndex().isConsistent)
        // It goes on writing after the stray's sequence number.
        let next = try #require(recovered.append(StorePackets.tcp(vm: 1, timestampNs: StorePackets.base, sequence: 1)))
        #expect(next.segment.hasSuffix("-000501.pcapng"))
        store.close()
    }
}
