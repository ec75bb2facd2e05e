import Foundation
import Testing
@testable import Analysis

@Suite("inspect: exfiltration module")
struct InspectExfiltrationTests {
    typealias F = InspectFrames
    static let t0: UInt64 = 1_700_000_000_000_000_000

    /// A TCP connection from `client` to `server`: handshake, then `segments` segments of 1,448
    /// bytes on the wire (captured truncated, as bmad's snaplen does) from `sender`, each
    /// second one acknowledged, every `gapNs`.
    static func transfer(client: String = "10.0.0.5", server: String = "198.51.100.20", port: UInt16 = 443,
                         upload: Bool = true, segments: Int, start: UInt64 = t0, gapNs: UInt64 = 10_000_000,
                         metadata: BMAMetadata? = nil) -> [MirroredPacket] {
        var packets = [
            InspectSupport.packet(F.tcp(client, 50_000, server, port, flags: TCPFlag.syn), at: start, metadata: metadata),
            InspectSupport.packet(F.tcp(server, port, client, 50_000, flags: TCPFlag.syn | TCPFlag.ack), at: start + 1_000_000),
            InspectSupport.packet(F.tcp(client, 50_000, server, port, flags: TCPFlag.ack), at: start + 2_000_000, metadata: metadata),
        ]
        var time = start + 3_000_000
        for index in 0..<segments {
            let data = upload
                ? F.tcp(client, 50_000, server, port, flags: TCPFlag.ack | TCPFlag.psh, seq: UInt32(1 + index * 1_448), payload: [0xAB], missing: 1_447)
                : F.tcp(server, port, client, 50_000, flags: TCPFlag.ack | TCPFlag.psh, seq: UInt32(1 + index * 1_448), payload: [0xAB], missing: 1_447)
            packets.append(InspectSupport.packet(data, at: time, metadata: upload ? metadata : nil))
            if index % 2 == 1 {
                let ack = upload
                    ? F.tcp(server, port, client, 50_000, flags: TCPFlag.ack, ack: UInt32(1 + (index + 1) * 1_448))
                    : F.tcp(client, 50_000, server, port, flags: TCPFlag.ack, ack: UInt32(1 + (index + 1) * 1_448))
                packets.append(InspectSupport.packet(ack, at: time + 500_000))
            }
            time += gapNs
        }
        return packets
    }

    @Test("30 MB uploaded to a new destination in 3 minutes alerts once, with the numbers")
    func upload() throws {
        let packets = Self.transfer(segments: 20_000, gapNs: 9_000_000)  // 20,000 x 1,488 bytes in 180 s
        let alerts = InspectSupport.run([ExfiltrationModule(alerts: AlertBuilder(vmNames: [7: "app"]))], packets)
        #expect(alerts.count == 1)
        let alert = try #require(alerts.first)
        #expect(alert.alert.signature_id == 9_200_300 && alert.alert.severity == 1 && alert.vm == "app")
        #expect(alert.src_ip == "10.0.0.5" && alert.dest_ip == "198.51.100.20" && alert.dest_port == 443 && alert.src_port == 50_000)
        let sent = try #require(UInt64(alert.bma.details["bytes_out"] ?? ""))
        let received = try #require(UInt64(alert.bma.details["bytes_in"] ?? ""))
        #expect(sent >= 20_000_000 && received < sent / 10)
        #expect(alert.bma.details["new_because"] == "first-seen")
        #expect((alert.bma.score ?? 0) >= 1)
    }

    @Test("the same bytes downloaded, or exchanged both ways, do not alert")
    func downloadAndBalanced() {
        #expect(InspectSupport.run([ExfiltrationModule()], Self.transfer(upload: false, segments: 20_000, gapNs: 9_000_000)).isEmpty)
        var configuration = ExfiltrationModule.Configuration()
        configuration.bytesThreshold = 1_000_000
        let up = Self.transfer(segments: 2_000)
        let down = Self.transfer(upload: false, segments: 2_000, start: Self.t0 + 1_000)
        let both = (up + down).sorted { $0.timestampNs < $1.timestampNs }
        #expect(InspectSupport.run([ExfiltrationModule(configuration: configuration)], both).isEmpty)
    }

    @Test("a destination known for longer than a day is not new, unless bmad says it is")
    func knownDestination() {
        var configuration = ExfiltrationModule.Configuration()
        configuration.bytesThreshold = 1_000_000
        let day: UInt64 = 86_400_000_000_000
        let early = Self.transfer(segments: 4)
        let later = Self.transfer(segments: 2_000, start: Self.t0 + day + 3_600_000_000_000)
        // Keep the pair alive in between (the known table forgets after a week of silence).
        #expect(InspectSupport.run([ExfiltrationModule(configuration: configuration)], early + later).isEmpty)
        let flagged = Self.transfer(segments: 2_000, start: Self.t0 + day + 3_600_000_000_000,
                                    metadata: InspectSupport.metadataNewDestination)
        let alerts = InspectSupport.run([ExfiltrationModule(configuration: configuration)], early + flagged)
        #expect(alerts.count == 1)
        #expect(alerts.first?.bma.details["new_because"] == "bmad-new-destination")
        #expect(alerts.first?.bma.reasons.contains("new-destination") == true)
    }

    @Test("the camera's week of uploads stays under the threshold", RealCaptures.required)
    func benignCamera() throws {
        let alerts = InspectSupport.run([ExfiltrationModule()], InspectSupport.packets(try RealCaptures.read(RealCaptures.benign).records))
        #expect(alerts.isEmpty)
    }

    @Test("connection roles: a SYN decides, otherwise the service port")
    func roles() {
        var roles = ConnectionRoles(capacity: 10, idleNs: 1_000)
        let a = PacketView.Address("10.0.0.1")!
        let b = PacketView.Address("10.0.0.2")!
        let toServer = InspectFlowTuple(vm: 1, proto: 6, source: a, sourcePort: 40_000, destination: b, destinationPort: 443)
        let fromServer = toServer.reversed
        #expect(roles.orient(fromServer, tcp: nil, nowNs: 1).initiator == toServer)  // port 443 is the server's
        #expect(roles.orient(toServer, tcp: nil, nowNs: 2).outbound)
        let udp = InspectFlowTuple(vm: 1, proto: 17, source: a, sourcePort: 5_000, destination: b, destinationPort: 6_000)
        #expect(roles.orient(udp, tcp: nil, nowNs: 3).outbound)
        #expect(!roles.orient(udp.reversed, tcp: nil, nowNs: 4).outbound)
    }

    @Test("sliding sums forget what left the window")
    func slidingSum() {
        var sum = SlidingSum(windowNs: 10_000, bucketCount: 10)
        sum.add(5, atNs: 100)
        sum.add(7, atNs: 5_000)
        #expect(sum.total(atNs: 5_000) == 12)
        #expect(sum.total(atNs: 10_050) == 7)
        #expect(sum.total(atNs: 16_000) == 0)
    }
}
