import Foundation
import Testing
@testable import Analysis

@Suite("inspect: pipeline")
struct InspectPipelineTests {
    typealias F = InspectFrames
    static let t0: UInt64 = 1_700_000_000_000_000_000

    final class Recorder: InspectionModule {
        let name: String
        var packets = 0
        var ticks: [UInt64] = []
        init(name: String) { self.name = name }
        func inspect(_ packet: MirroredPacket, _ view: PacketView, emit: (Alert) -> Void) {
            packets += 1
            if view.tcp?.isSYNOnly == true {
                emit(AlertBuilder().alert(InspectionSignatures.portScan, module: name, packet: packet, flow: view.flowKey))
            }
        }
        func tick(nowNs: UInt64, emit: (Alert) -> Void) { ticks.append(nowNs) }
    }

    @Test("modules see every packet, tick once a second of packet time, and can be disabled")
    func basics() {
        let a = Recorder(name: "a")
        let b = Recorder(name: "b")
        let pipeline = InspectionPipeline(modules: [a, b])
        #expect(pipeline.moduleNames == ["a", "b"])
        var alerts: [Alert] = []
        for index in 0..<50 {
            let frame = F.tcp("10.0.0.1", 1_000, "10.0.0.2", 80, flags: index % 10 == 0 ? TCPFlag.syn : TCPFlag.ack)
            pipeline.process(InspectSupport.packet(frame, at: Self.t0 + UInt64(index) * 100_000_000)) { alerts.append($0) }
        }
        #expect(a.packets == 50 && b.packets == 50 && alerts.count == 10)
        #expect(a.ticks.count == 4)  // at 1, 2, 3, 4 s
        #expect(pipeline.setEnabled("b", false) && !pipeline.isEnabled("b") && pipeline.isEnabled("a"))
        #expect(!pipeline.setEnabled("nope", false))
        pipeline.process(InspectSupport.packet(F.icmpEcho("10.0.0.1", "10.0.0.2"), at: Self.t0 + 10_000_000_000)) { alerts.append($0) }
        #expect(a.packets == 51 && b.packets == 50)
        pipeline.tick(nowNs: Self.t0 + 20_000_000_000) { alerts.append($0) }
        #expect(a.ticks.last == Self.t0 + 20_000_000_000)
        let stats = pipeline.stats
        #expect(stats.packets == 51 && stats.alerts["a"] == 5 && stats.alerts["b"] == 5)
        pipeline.process(InspectSupport.packet([1, 2, 3], at: Self.t0 + 20_000_000_000)) { _ in }
        #expect(pipeline.stats.malformed["runt"] == 1 && pipeline.stats.nonIP == 1)
    }

    /// No security alert at all; the performance module's one report of a real loss episode
    /// (see InspectPerformanceTests) is the only thing raised.
    @Test("the built-in modules raise no security alert on the camera's benign week", RealCaptures.required)
    func benignWeek() throws {
        let pipeline = InspectionPipeline.builtIn(vmNames: [7: "camera"])
        #expect(pipeline.moduleNames == ["scan", "dns-tunnel", "exfiltration", "beaconing", "performance"])
        var alerts: [Alert] = []
        let packets = InspectSupport.packets(try RealCaptures.read(RealCaptures.benign).records)
        for packet in packets { pipeline.process(packet) { alerts.append($0) } }
        pipeline.tick(nowNs: packets.last!.timestampNs + 3_600_000_000_000) { alerts.append($0) }
        let security = alerts.filter { $0.bma.module != "performance" }
        #expect(security.isEmpty, "\(security.map(\.alert.signature))")
        #expect(alerts.filter { $0.bma.module == "performance" }.map(\.alert.signature_id) == [9_200_501])
        #expect(pipeline.stats.packets == 24_022)
    }

    @Test("masscan and iodine spliced into day 4 of the camera's week: the camera is named", RealCaptures.required)
    func splicedScenarios() throws {
        let benign = try RealCaptures.read(RealCaptures.benign)
        for (attackName, attacker, signature) in [
            (RealCaptures.masscan, "172.31.15.102", 9_200_100), (RealCaptures.iodine, "10.0.2.30", 9_200_200),
        ] {
            let attack = try RealCaptures.read(attackName)
            let scenario = try ScenarioSplicer.splice(
                benign: benign, attack: attack,
                options: SpliceOptions(attackerIP: IPv4Address(attacker)!, placement: .day(4), includeReplies: true))
            let pipeline = InspectionPipeline.builtIn(vmNames: [12: "camera"])
            var alerts: [Alert] = []
            for packet in InspectSupport.packets(scenario.capture.records, vmID: 12, sensor: "hv-3") {
                pipeline.process(packet) { alerts.append($0) }
            }
            let security = alerts.filter { $0.bma.module != "performance" }
            #expect(security.count == 1, "\(attackName): \(security.map(\.alert.signature))")
            let alert = try #require(security.first)
            #expect(alert.alert.signature_id == signature)
            #expect(alert.src_ip == "192.168.1.129" && alert.vm == "camera" && alert.host == "hv-3")
            let start = AlertBuilder.timestamp(nanoseconds: scenario.labels.attackStartNanoseconds)
            #expect(alert.timestamp >= start)
        }
    }
}
