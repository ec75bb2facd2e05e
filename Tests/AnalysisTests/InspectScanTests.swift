import Foundation
import Testing
@testable import Analysis

@Suite("inspect: scan module")
struct InspectScanTests {
    typealias F = InspectFrames
    static let t0: UInt64 = 1_700_000_000_000_000_000

    @Test("masscan: a port scan naming the VM, the scanner and the target", RealCaptures.required)
    func masscan() throws {
        let packets = InspectSupport.packets(try RealCaptures.read(RealCaptures.masscan).records, vmID: 101,
                                             metadata: InspectSupport.metadataNewDestination)
        let module = ScanModule(alerts: AlertBuilder(vmNames: [101: "web1"]))
        let alerts = InspectSupport.run([module], packets)
        let portScans = alerts.filter { $0.alert.signature_id == InspectionSignatures.portScan.signature_id }
        #expect(portScans.count == 1)  // once per window; the scan lasts 10 s
        let alert = try #require(portScans.first)
        #expect(alert.vm == "web1" && alert.host == "host-a")
        #expect(alert.src_ip == "172.31.15.102" && alert.dest_ip == "198.124.152.15" && alert.proto == "TCP")
        #expect(alert.dest_port != nil && alert.src_port != nil)
        #expect(alert.alert.category == "Detection of a Network Scan" && alert.alert.severity == 2)
        #expect(alert.bma.module == "scan" && alert.bma.reasons == ["new-destination", "port-scan"])
        #expect(alert.bma.details["distinct_ports"] == "20" && alert.bma.details["unanswered"] == "20")
        #expect(alert.bma.details["bma_flags"] == "sticky")
        #expect(alert.flow_id == AlertBuilder.flowID(FlowKey(srcIP: alert.src_ip!, dstIP: alert.dest_ip!, proto: 6,
                                                             srcPort: alert.src_port!, dstPort: alert.dest_port!), vmID: 101))
        // Both scans are one host: no host scan.
        #expect(!alerts.contains { $0.alert.signature_id == InspectionSignatures.hostScan.signature_id })
    }

    @Test("the ARP scan is a host scan", RealCaptures.required)
    func arpScan() throws {
        let alerts = InspectSupport.run([ScanModule()], InspectSupport.packets(try RealCaptures.read(RealCaptures.arpScan).records))
        let alert = try #require(alerts.first { $0.alert.signature_id == InspectionSignatures.hostScan.signature_id })
        #expect(alert.src_ip == "192.168.1.247" && alert.proto == "ARP")
    }

    @Test("nmap's 35 connections to one web server are not a scan", RealCaptures.required)
    func nmapWeb() throws {
        let alerts = InspectSupport.run([ScanModule()], InspectSupport.packets(try RealCaptures.read(RealCaptures.nmap).records))
        #expect(alerts.isEmpty)
    }

    @Test("crafted SYN scan over 30 ports alerts once; 15 ports do not")
    func crafted() {
        func scan(_ ports: Range<UInt16>) -> [Alert] {
            let packets = ports.enumerated().map { index, port in
                InspectSupport.packet(F.tcp("10.0.0.5", 40_000, "10.0.0.9", port, flags: TCPFlag.syn),
                                      at: Self.t0 + UInt64(index) * 100_000_000)
            }
            return InspectSupport.run([ScanModule()], packets)
        }
        #expect(scan(1..<31).count == 1)
        #expect(scan(1..<16).isEmpty)
    }

    @Test("ports answered and then used weigh less: a client of 30 services is not a scanner")
    func establishedClient() {
        var packets: [MirroredPacket] = []
        var time = Self.t0
        for port in UInt16(1_000)..<1_030 {
            packets.append(InspectSupport.packet(F.tcp("10.0.0.5", 40_000 + port, "10.0.0.9", port, flags: TCPFlag.syn), at: time))
            packets.append(InspectSupport.packet(F.tcp("10.0.0.9", port, "10.0.0.5", 40_000 + port, flags: TCPFlag.syn | TCPFlag.ack), at: time + 1_000_000))
            packets.append(InspectSupport.packet(F.tcp("10.0.0.5", 40_000 + port, "10.0.0.9", port, flags: TCPFlag.ack | TCPFlag.psh,
                                                       payload: [1, 2, 3]), at: time + 2_000_000))
            time += 500_000_000
        }
        #expect(InspectSupport.run([ScanModule()], packets).isEmpty)
    }

    @Test("probes spread wider than the window are not a scan")
    func slowScan() {
        let packets = (UInt16(1)..<41).enumerated().map { index, port in
            InspectSupport.packet(F.tcp("10.0.0.5", 40_000, "10.0.0.9", port, flags: TCPFlag.syn),
                                  at: Self.t0 + UInt64(index) * 30_000_000_000)
        }
        #expect(InspectSupport.run([ScanModule()], packets).isEmpty)
    }

    @Test("a SYN sweep of port 445 and a ping sweep are host scans")
    func sweeps() throws {
        let syn = (1...30).map { host in
            InspectSupport.packet(F.tcp("10.0.0.5", 40_000, "10.0.1.\(host)", 445, flags: TCPFlag.syn), at: Self.t0 + UInt64(host) * 50_000_000)
        }
        let alerts = InspectSupport.run([ScanModule()], syn)
        #expect(alerts.count == 1)
        let alert = try #require(alerts.first)
        #expect(alert.alert.signature_id == 9_200_101 && alert.src_ip == "10.0.0.5" && alert.dest_port == 445)
        #expect(alert.bma.details["distinct_hosts"] == "20")

        let pings = (1...25).map { host in
            InspectSupport.packet(F.icmpEcho("10.0.0.5", "10.0.2.\(host)"), at: Self.t0 + UInt64(host) * 50_000_000)
        }
        let ping = try #require(InspectSupport.run([ScanModule()], pings).first)
        #expect(ping.proto == "ICMP" && ping.src_port == nil)
    }

    @Test("a resolver answering many client ports is not scanning the client")
    func udpReplies() {
        var packets: [MirroredPacket] = []
        for index in 0..<100 {
            let port = UInt16(20_000 + index * 7)
            let time = Self.t0 + UInt64(index) * 100_000_000
            packets.append(InspectSupport.packet(F.dnsQueryFrame(client: "10.0.0.5", port: port, server: "10.0.0.53", name: "host\(index % 5).example.com"), at: time))
            packets.append(InspectSupport.packet(F.udp("10.0.0.53", 53, "10.0.0.5", port, payload: [0, 1, 0x81, 0x80]), at: time + 1_000_000))
        }
        #expect(InspectSupport.run([ScanModule()], packets).isEmpty)
    }

    @Test("state stays bounded under 200,000 distinct sources and targets")
    func bounded() {
        var configuration = ScanModule.Configuration()
        configuration.maxPairs = 1_000
        configuration.maxSources = 500
        configuration.maxUDPFlows = 2_000
        let module = ScanModule(configuration: configuration)
        let pipeline = InspectionPipeline(modules: [module])
        var generator = SeededGenerator(seed: 3)
        for index in 0..<200_000 {
            let source = "10.\(index % 200).\(UInt8.random(in: 0...255, using: &generator)).\(UInt8.random(in: 1...254, using: &generator))"
            let target = "172.16.\(UInt8.random(in: 0...255, using: &generator)).\(UInt8.random(in: 1...254, using: &generator))"
            let frame = index % 2 == 0
                ? F.tcp(source, 1_000, target, UInt16(index % 60_000), flags: TCPFlag.syn)
                : F.udp(source, 1_000, target, UInt16(index % 60_000), payload: [1])
            pipeline.process(InspectSupport.packet(frame, at: Self.t0 + UInt64(index) * 1_000)) { _ in }
        }
        let state = module.trackedState
        #expect(state.pairs <= 1_000 && state.sources <= 500 && state.udpFlows <= 2_000)
    }
}
