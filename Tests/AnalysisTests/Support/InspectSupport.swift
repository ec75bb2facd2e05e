import Foundation
@testable import Analysis

/// Helpers for the inspection and alert tests: packets from captures, crafted frames, running
/// modules.
enum InspectSupport {
    /// A capture's records as mirrored packets of one VM.
    static func packets(_ records: [PcapRecord], vmID: UInt32 = 7, sensor: String = "host-a",
                        metadata: BMAMetadata? = nil) -> [MirroredPacket] {
        records.map { packet($0.data, at: $0.timestampNanoseconds, vmID: vmID, sensor: sensor, metadata: metadata,
                             originalLength: $0.originalLength) }
    }

    static func packet(_ frame: [UInt8], at timestampNs: UInt64, vmID: UInt32 = 7, sensor: String = "host-a",
                       metadata: BMAMetadata? = nil, originalLength: UInt32? = nil) -> MirroredPacket {
        MirroredPacket(receivedNs: timestampNs, timestampNs: timestampNs, sensor: sensor, vmID: vmID,
                       encapsulation: .pcap, metadata: metadata, frame: frame,
                       originalLength: originalLength ?? UInt32(frame.count))
    }

    /// Runs `modules` over `packets` through a pipeline, ticking at the end (`tailNs` after the
    /// last packet); returns every alert.
    static func run(_ modules: [any InspectionModule], _ packets: [MirroredPacket], tailNs: UInt64 = 120_000_000_000) -> [Alert] {
        let pipeline = InspectionPipeline(modules: modules)
        var alerts: [Alert] = []
        for packet in packets { pipeline.process(packet) { alerts.append($0) } }
        if let last = packets.last?.timestampNs {
            // Tick through the tail second by second, as a live pipeline would.
            var now = last
            while now < last + tailNs {
                now += 1_000_000_000
                pipeline.tick(nowNs: now) { alerts.append($0) }
            }
        }
        return alerts
    }

    static let metadataNewDestination = BMAMetadata(
        flags: [.sticky], policyID: 3, reasons: [BMAMetadata.Reasons(rawValue: 1), BMAMetadata.Reasons(rawValue: 8)],
        scoreMilli: 1_250, originalLength: 60, timestampNs: 0)
}

/// TCP flag bits.
enum TCPFlag {
    static let fin: UInt8 = 0x01
    static let syn: UInt8 = 0x02
    static let rst: UInt8 = 0x04
    static let psh: UInt8 = 0x08
    static let ack: UInt8 = 0x10
}

/// Builds frames with any TCP flags, sequence numbers and windows, DNS queries, ICMP and ARP.
enum InspectFrames {
    static let macA: [UInt8] = [0x02, 0, 0, 0, 0, 0x0A]
    static let macB: [UInt8] = [0x02, 0, 0, 0, 0, 0x0B]

    static func ip(_ text: String) -> [UInt8] { PacketView.Address(text)!.octets }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func be32(_ value: UInt32) -> [UInt8] { [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)] }

    static func ethernet(vlans: [UInt16] = [], etherType: UInt16, payload: [UInt8], source: [UInt8] = macA,
                         destination: [UInt8] = macB) -> [UInt8] {
        var frame = destination + source
        for vlan in vlans { frame += be16(0x8100) + be16(vlan) }
        return frame + be16(etherType) + payload
    }

    /// IPv4 or IPv6 (chosen by the address length) around `payload`.
    static func ipPacket(source: [UInt8], destination: [UInt8], proto: UInt8, payload: [UInt8], ttl: UInt8 = 64,
                         missing: Int = 0) -> (UInt16, [UInt8]) {
        if source.count == 4 {
            let header: [UInt8] = [0x45, 0] + be16(UInt16(20 + payload.count + missing)) + be16(0x1234) + be16(0x4000) + [ttl, proto, 0, 0]
                + source + destination
            return (0x0800, header + payload)
        }
        let header: [UInt8] = [0x60, 0, 0, 0] + be16(UInt16(payload.count + missing)) + [proto, ttl] + source + destination
        return (0x86DD, header + payload)
    }

    static func tcp(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16,
                    flags: UInt8, seq: UInt32 = 1_000, ack: UInt32 = 0, window: UInt16 = 64_240,
                    payload: [UInt8] = [], vlans: [UInt16] = [], missing: Int = 0) -> [UInt8] {
        let segment = be16(sourcePort) + be16(destinationPort) + be32(seq) + be32(ack) + [0x50, flags] + be16(window)
            + [0, 0, 0, 0] + payload
        let (type, packet) = ipPacket(source: ip(source), destination: ip(destination), proto: 6, payload: segment,
                                      missing: missing)
        return ethernet(vlans: vlans, etherType: type, payload: packet)
    }

    static func udp(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16,
                    payload: [UInt8]) -> [UInt8] {
        let datagram = be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
        let (type, packet) = ipPacket(source: ip(source), destination: ip(destination), proto: 17, payload: datagram)
        return ethernet(etherType: type, payload: packet)
    }

    static func icmpEcho(_ source: String, _ destination: String, request: Bool = true, id: UInt16 = 1, seq: UInt16 = 1) -> [UInt8] {
        let message: [UInt8] = [request ? 8 : 0, 0, 0, 0] + be16(id) + be16(seq) + Array(repeating: 0x61, count: 16)
        let (type, packet) = ipPacket(source: ip(source), destination: ip(destination), proto: 1, payload: message)
        return ethernet(etherType: type, payload: packet)
    }

    static func arpRequest(sender: String, target: String) -> [UInt8] {
        let body: [UInt8] = be16(1) + be16(0x0800) + [6, 4] + be16(1) + macA + ip(sender) + [0, 0, 0, 0, 0, 0] + ip(target)
        return ethernet(etherType: 0x0806, payload: body, destination: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
    }

    /// A DNS query message for `name` (labels given raw) and `type`.
    static func dnsQuery(labels: [[UInt8]], type: UInt16, id: UInt16 = 0x1234) -> [UInt8] {
        var message: [UInt8] = be16(id) + be16(0x0100) + be16(1) + be16(0) + be16(0) + be16(0)
        for label in labels { message += [UInt8(label.count)] + label }
        return message + [0] + be16(type) + be16(1)
    }

    static func labels(_ name: String) -> [[UInt8]] {
        name.split(separator: ".").map { Array($0.utf8) }
    }

    static func dnsQueryFrame(client: String = "10.1.1.5", port: UInt16 = 40_000, server: String = "10.1.1.1",
                              name: String, type: UInt16 = 1, id: UInt16 = 0x1234) -> [UInt8] {
        udp(client, port, server, 53, payload: dnsQuery(labels: labels(name), type: type, id: id))
    }
}
