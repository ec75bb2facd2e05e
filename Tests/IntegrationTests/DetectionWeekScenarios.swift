import PacketCapture
import Foundation

// Scenarios over the real benign weeks that the splicer alone does not build: an ARP scan (not
// IPv4), a slow scan (an attack capture stretched in time) and a bulk upload (generated).

extension DetectionScenario {
    /// The attacker's ARP requests (the scan itself) as the victim's, from the start of `day`,
    /// merged by time (benign first on ties).
    static func arpScan(_ name: String, attack file: String, attacker: String, into benignFile: String, day: Int,
                        in scratch: ScratchDirectory) throws -> DetectionScenario {
        let benign = try PcapCapture.read(path: try TestEnvironment.capture(benignFile))
        let attack = try PcapCapture.read(path: try TestEnvironment.capture(file))
        guard let attackerIP = IPv4Address(attacker), let first = benign.records.first else { throw ScratchError(message: "bad input") }
        let summary = CaptureSummary(records: benign.records)
        guard let victim = summary.mostFrequentSourceMAC, let victimIP = summary.mostFrequentSourceIPv4(from: victim) else {
            throw ScratchError(message: "\(benignFile): no victim")
        }
        var picked: [PcapRecord] = []
        for var r in attack.records {
            var frame = EthernetFrame(r.data)
            guard frame.etherType == EthernetFrame.etherTypeARP, let o = frame.payloadStart, o + 28 <= r.data.count,
                  IPv4Address(r.data, at: o + 14) == attackerIP else { continue }
            _ = frame.setSourceMAC(victim)
            frame.bytes.replaceSubrange(o + 8..<o + 14, with: victim.octets)
            frame.bytes.replaceSubrange(o + 14..<o + 18, with: victimIP.octets)
            r.data = frame.bytes
            picked.append(r)
        }
        guard let t0 = picked.first?.timestampNanoseconds else { throw ScratchError(message: "\(file): no ARP from \(attacker)") }
        let start = first.timestampNanoseconds + UInt64(day - 1) * 86_400_000_000_000
        for i in picked.indices { picked[i].timestampNanoseconds = start + (picked[i].timestampNanoseconds - t0) }
        var merged: [PcapRecord] = []
        var indices: [Int] = []
        var b = 0, a = 0
        while b < benign.records.count || a < picked.count {
            if a == picked.count || (b < benign.records.count && benign.records[b].timestampNanoseconds <= picked[a].timestampNanoseconds) {
                merged.append(benign.records[b])
                b += 1
            } else {
                indices.append(merged.count)
                merged.append(picked[a])
                a += 1
            }
        }
        let path = scratch.file("\(name).pcap")
        try PcapCapture(header: PcapFileHeader(resolution: .nanoseconds, snapLength: 65_535, linkType: .ethernet), records: merged).write(path: path)
        return DetectionScenario(name: name, path: path, records: merged, attackIndices: indices, victimMAC: victim)
    }

    /// `capture` with every gap between packets `factor` times longer.
    static func stretched(_ capture: PcapCapture, by factor: UInt64) -> PcapCapture {
        var c = capture
        guard let t0 = c.records.first?.timestampNanoseconds else { return c }
        for i in c.records.indices { c.records[i].timestampNanoseconds = t0 + (c.records[i].timestampNanoseconds - t0) * factor }
        return c
    }

    /// `segments` full-size TCP segments from `source` to the benign week's most used destination
    /// and service (through the MAC it is reached by), evenly over `seconds`.
    static func bulkUpload(toMostUsedOf benignFile: String, from source: IPv4Address, segments: Int = 30_000,
                           seconds: Double = 120) throws -> PcapCapture {
        let benign = try PcapCapture.read(path: try TestEnvironment.capture(benignFile))
        guard let victim = CaptureSummary(records: benign.records).mostFrequentSourceMAC else { throw ScratchError(message: "no victim") }
        struct Use: Hashable { var mac: MACAddress; var ip: IPv4Address; var port: UInt16 }
        var uses: [Use: Int] = [:]
        for r in benign.records {
            let f = EthernetFrame(r.data)
            guard f.sourceMAC == victim, f.ipProtocol == EthernetFrame.protocolTCP, let mac = f.destinationMAC,
                  let ip = f.ipv4Destination, let sp = f.sourcePort, let dp = f.destinationPort else { continue }
            uses[Use(mac: mac, ip: ip, port: min(sp, dp)), default: 0] += 1
        }
        guard let top = uses.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key.port > $1.key.port) })?.key else {
            throw ScratchError(message: "\(benignFile): no TCP from the victim")
        }
        let payload = [UInt8](repeating: 0x5A, count: 1460)
        var records: [PcapRecord] = []
        records.reserveCapacity(segments)
        var sequence: UInt32 = 1
        for i in 0..<segments {
            let frame = DetectionFrames.tcpSegment(from: DetectionFrames.mac("02:00:00:00:00:01"), to: top.mac, source, top.ip,
                                                   sourcePort: 49_152, destinationPort: top.port, sequence: sequence, payload: payload)
            records.append(PcapRecord(timestampNanoseconds: UInt64(Double(i) * seconds * 1e9 / Double(segments)), data: frame))
            sequence &+= UInt32(payload.count)
        }
        return PcapCapture(header: PcapFileHeader(resolution: .nanoseconds, snapLength: 65_535, linkType: .ethernet), records: records)
    }
}

extension DetectionFrames {
    /// A TCP data segment (ACK, PSH) with correct checksums.
    static func tcpSegment(
        from source: MACAddress, to destination: MACAddress, _ sourceIP: IPv4Address, _ destinationIP: IPv4Address,
        sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32, payload: [UInt8]
    ) -> [UInt8] {
        var tcp = be16(sourcePort) + be16(destinationPort) + be32(sequence) + be32(1) + [0x50, 0x18] + be16(502) + [0, 0, 0, 0] + payload
        let checksum = InternetChecksum.checksum(ofSum: transportSum(tcp, proto: 6, sourceIP, destinationIP))
        tcp.replaceSubrange(16..<18, with: be16(checksum))
        return ethernet(source, destination) + ipv4(sourceIP, destinationIP, proto: 6, payloadLength: tcp.count) + tcp
    }
}
