import Foundation
import Testing
@testable import Analysis

@Suite("inspect: beaconing module")
struct InspectBeaconingTests {
    typealias F = InspectFrames
    static let t0: UInt64 = 1_700_000_000_000_000_000

    static func syns(intervals: [Double], port: UInt16 = 443, destination: String = "203.0.113.9") -> [MirroredPacket] {
        var time = t0
        var packets: [MirroredPacket] = []
        for (index, interval) in intervals.enumerated() {
            time += UInt64(interval * 1e9)
            packets.append(InspectSupport.packet(F.tcp("10.0.0.5", UInt16(40_000 + index), destination, port, flags: TCPFlag.syn), at: time))
        }
        return packets
    }

    @Test("a SYN every 60 s with a little jitter is a beacon; the alert names the flow")
    func periodic() throws {
        var generator = SeededGenerator(seed: 21)
        let intervals = (0..<12).map { _ in 60 + Double.random(in: -3...3, using: &generator) }
        let alerts = InspectSupport.run([BeaconingModule(alerts: AlertBuilder(vmNames: [7: "kiosk"]))], Self.syns(intervals: intervals))
        #expect(alerts.count == 1)  // then quiet for an hour
        let alert = try #require(alerts.first)
        #expect(alert.alert.signature_id == 9_200_400 && alert.alert.category == "Command and Control" && alert.vm == "kiosk")
        #expect(alert.src_ip == "10.0.0.5" && alert.dest_ip == "203.0.113.9" && alert.dest_port == 443 && alert.proto == "TCP")
        #expect(alert.bma.count == 8)
        let interval = try #require(Double(alert.bma.details["interval_s"] ?? ""))
        #expect(abs(interval - 60) < 3)
        #expect(try #require(Double(alert.bma.details["cv"] ?? "")) <= 0.15)
    }

    @Test("irregular connections are not a beacon")
    func irregular() {
        var generator = SeededGenerator(seed: 22)
        // Exponential gaps (a Poisson process) around a 60 s mean: CV about 1.
        let intervals = (0..<40).map { _ in -60 * log(Double.random(in: 0.001..<1, using: &generator)) + 1 }
        #expect(InspectSupport.run([BeaconingModule()], Self.syns(intervals: intervals)).isEmpty)
    }

    @Test("too few, too fast, or to an ignored port: no alert")
    func limits() {
        #expect(InspectSupport.run([BeaconingModule()], Self.syns(intervals: Array(repeating: 60, count: 7))).isEmpty)
        #expect(InspectSupport.run([BeaconingModule()], Self.syns(intervals: Array(repeating: 1, count: 30))).isEmpty)
        let ntp = (1...20).map { index in
            InspectSupport.packet(F.udp("10.0.0.5", 123, "192.0.2.123", 123, payload: [0x23]), at: Self.t0 + UInt64(index) * 64_000_000_000)
        }
        #expect(InspectSupport.run([BeaconingModule()], ntp).isEmpty)
    }

    @Test("retransmitted SYNs are one connection")
    func synRetries() {
        var packets: [MirroredPacket] = []
        for index in 0..<10 {
            let time = Self.t0 + UInt64(index) * 30_000_000_000
            let port = UInt16(41_000 + index)
            packets.append(InspectSupport.packet(F.tcp("10.0.0.5", port, "203.0.113.9", 8_443, flags: TCPFlag.syn), at: time))
            packets.append(InspectSupport.packet(F.tcp("10.0.0.5", port, "203.0.113.9", 8_443, flags: TCPFlag.syn), at: time + 1_000_000_000))
        }
        let alert = InspectSupport.run([BeaconingModule()], packets).first
        #expect(alert?.bma.details["interval_s"] == "30")
    }

    @Test("UDP datagrams after silence count; a steady stream is one session")
    func udp() {
        let beacon = (1...10).map { index in
            InspectSupport.packet(F.udp("10.0.0.5", 51_000, "198.51.100.1", 9_999, payload: [1, 2]), at: Self.t0 + UInt64(index) * 20_000_000_000)
        }
        #expect(InspectSupport.run([BeaconingModule()], beacon).count == 1)
        let stream = (1...3_000).map { index in
            InspectSupport.packet(F.udp("10.0.0.5", 51_000, "198.51.100.1", 9_999, payload: [1, 2]), at: Self.t0 + UInt64(index) * 100_000_000)
        }
        #expect(InspectSupport.run([BeaconingModule()], stream).isEmpty)
    }

    @Test("the camera's week raises no beacon", RealCaptures.required)
    func benignCamera() throws {
        let alerts = InspectSupport.run([BeaconingModule()], InspectSupport.packets(try RealCaptures.read(RealCaptures.benign).records))
        #expect(alerts.isEmpty)
    }

    @Test("periodicity statistics")
    func statistics() throws {
        let regular = try #require(BeaconingModule.Periodicity(eventTimes: [0, 10, 20, 30]))
        #expect(regular.intervals == 3 && regular.meanNs == 10 && regular.coefficientOfVariation == 0)
        let uneven = try #require(BeaconingModule.Periodicity(eventTimes: [0, 5, 20]))
        #expect(abs(uneven.coefficientOfVariation - 0.5) < 1e-9)
        #expect(BeaconingModule.Periodicity(eventTimes: [1]) == nil)
    }
}
