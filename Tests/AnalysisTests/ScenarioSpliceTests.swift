import Foundation
import Testing
@testable import PacketCapture

@Suite("scenario splice, synthetic")
struct ScenarioSpliceSyntheticTests {
    static let vmMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x01]
    static let peerMAC: [UInt8] = [0x02, 0, 0, 0, 0, 0x02]
    static let vmIP: [UInt8] = [192, 168, 0, 10]
    static let attackerIP: [UInt8] = [10, 66, 0, 1]

    static func benign(times: [UInt64]) -> PcapCapture {
        let frame = FrameBuilder.ethernet(destination: peerMAC, source: vmMAC, etherType: 0x0800,
                                          payload: FrameBuilder.ipv4(source: vmIP, destination: [1, 1, 1, 1], protocolNumber: 17,
                                                                     payload: FrameBuilder.udp(source: vmIP, destination: [1, 1, 1, 1], sourcePort: 1000, destinationPort: 53, payload: [1])))
        return PcapCapture(header: PcapFileHeader(), records: times.map { PcapRecord(timestampNanoseconds: $0, data: frame) })
    }

    static func attack(times: [UInt64]) -> PcapCapture {
        let frame = FrameBuilder.tcpFrame(source: attackerIP, destination: [8, 8, 8, 8])
        return PcapCapture(header: PcapFileHeader(), records: times.map { PcapRecord(timestampNanoseconds: $0, data: frame) })
    }

    static let options = SpliceOptions(attackerIP: IPv4Address(10, 66, 0, 1), placement: .afterStart(nanoseconds: 0))

    @Test("ties put the benign packet first, and each stream keeps its order")
    func ties() throws {
        let result = try ScenarioSplicer.splice(benign: Self.benign(times: [100, 200, 300]), attack: Self.attack(times: [5_000, 5_100, 5_300]), options: Self.options)
        // Attack shifted to start at 100: 100, 200, 400.
        #expect(result.capture.records.map(\.timestampNanoseconds) == [100, 100, 200, 200, 300, 400])
        #expect(result.labels.attackIndices == [1, 3, 5])
        #expect(result.labels.firstAttackIndex == 1)
        #expect(result.labels.benignPackets == 3)
        #expect(result.labels.attackPackets == 3)
        #expect(result.labels.victimMAC == "02:00:00:00:00:01")
        #expect(result.labels.victimIP == "192.168.0.10")
        #expect(result.labels.attackStartNanoseconds == 100)
        #expect(result.labels.attackEndNanoseconds == 400)
    }

    @Test("an attack out of order in its own capture keeps its order and relative timing")
    func outOfOrderAttack() throws {
        let result = try ScenarioSplicer.splice(benign: Self.benign(times: [1_000, 2_000]), attack: Self.attack(times: [500, 400, 700]), options: Self.options)
        let attack = result.labels.attackIndices.map { result.capture.records[$0].timestampNanoseconds }
        #expect(attack == [1_000, 900, 1_200])
        #expect(result.labels.attackStartNanoseconds == 900)
    }

    @Test("day placement counts whole days from the first benign packet")
    func dayPlacement() throws {
        var options = Self.options
        options.placement = .day(2)
        let result = try ScenarioSplicer.splice(benign: Self.benign(times: [7]), attack: Self.attack(times: [3]), options: options)
        #expect(result.labels.attackStartNanoseconds == 7 + 86_400_000_000_000)
        #expect(result.labels.attackIndices == [1])
    }

    @Test("explicit victim and gateway are used")
    func explicitVictim() throws {
        var options = Self.options
        options.victimMAC = MACAddress("0a:0b:0c:0d:0e:0f")
        options.victimIP = IPv4Address(172, 16, 0, 5)
        options.gatewayMAC = MACAddress("0a:00:00:00:00:99")
        let result = try ScenarioSplicer.splice(benign: Self.benign(times: [1]), attack: Self.attack(times: [1]), options: options)
        let frame = EthernetFrame(result.capture.records[result.labels.firstAttackIndex].data)
        #expect(frame.sourceMAC == options.victimMAC)
        #expect(frame.destinationMAC == options.gatewayMAC)
        #expect(frame.ipv4Source == options.victimIP)
        #expect(ChecksumVerifier.transportValid(frame.bytes) == true)
    }

    @Test("bad inputs give typed errors")
    func errors() {
        #expect(throws: SpliceError.emptyBenignCapture) {
            try ScenarioSplicer.splice(benign: Self.benign(times: []), attack: Self.attack(times: [1]), options: Self.options)
        }
        var other = Self.options
        other.attackerIP = IPv4Address(9, 9, 9, 9)
        #expect(throws: SpliceError.noAttackPackets(attackerIP: IPv4Address(9, 9, 9, 9), includingReplies: false)) {
            try ScenarioSplicer.splice(benign: Self.benign(times: [1]), attack: Self.attack(times: [1]), options: other)
        }
        var raw = Self.attack(times: [1])
        raw.header.linkType = .raw
        #expect(throws: SpliceError.unsupportedLinkType(capture: "attack", linkType: .raw)) {
            try ScenarioSplicer.splice(benign: Self.benign(times: [1]), attack: raw, options: Self.options)
        }
        var dayZero = Self.options
        dayZero.placement = .day(0)
        #expect(throws: SpliceError.placementOutOfRange) {
            try ScenarioSplicer.splice(benign: Self.benign(times: [1]), attack: Self.attack(times: [1]), options: dayZero)
        }
        var tooFar = Self.options
        tooFar.placement = .afterStart(nanoseconds: UInt64.max)
        #expect(throws: SpliceError.placementOutOfRange) {
            try ScenarioSplicer.splice(benign: Self.benign(times: [1]), attack: Self.attack(times: [1]), options: tooFar)
        }
        let arpOnly = PcapCapture(header: PcapFileHeader(), records: [PcapRecord(timestampNanoseconds: 1, data: FrameBuilder.ethernet(etherType: 0x0806, payload: [0, 1]))])
        #expect(throws: SpliceError.noVictimIP(victimMAC: MACAddress(FrameBuilder.macA, at: 0))) {
            try ScenarioSplicer.splice(benign: arpOnly, attack: Self.attack(times: [1]), options: Self.options)
        }
        let runts = PcapCapture(header: PcapFileHeader(), records: [PcapRecord(timestampNanoseconds: 1, data: [1, 2])])
        #expect(throws: SpliceError.noVictimMAC) {
            try ScenarioSplicer.splice(benign: runts, attack: Self.attack(times: [1]), options: Self.options)
        }
    }

    @Test("nanosecond inputs give a nanosecond scenario")
    func resolution() throws {
        var attack = Self.attack(times: [1])
        attack.header.resolution = .nanoseconds
        let result = try ScenarioSplicer.splice(benign: Self.benign(times: [1]), attack: attack, options: Self.options)
        #expect(result.capture.header.resolution == .nanoseconds)
        #expect(try ScenarioSplicer.splice(benign: Self.benign(times: [1]), attack: Self.attack(times: [1]), options: Self.options).capture.header.resolution == .microseconds)
    }

    @Test("labels JSON uses the documented keys and decodes back")
    func labelsJSON() throws {
        let labels = try ScenarioSplicer.splice(benign: Self.benign(times: [1, 2]), attack: Self.attack(times: [1]), options: Self.options).labels
        let data = try labels.jsonData()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for key in ["victim_mac", "victim_ip", "attack_packets", "benign_packets", "first_attack_index", "attack_indices"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["attack_indices"] as? [Int] == [1])
        #expect(try ScenarioLabels.decode(data) == labels)
    }
}

@Suite("scenario splice, real captures", RealCaptures.required)
struct ScenarioSpliceRealTests {
    static let cameraMAC = MACAddress("f4:b8:5e:ff:2b:1b")!
    static let cameraIP = IPv4Address(192, 168, 1, 129)
    static let day: UInt64 = 86_400_000_000_000

    static func splice(_ attack: String, attacker: IPv4Address, replies: Bool = false) throws -> (SplicedScenario, PcapCapture, PcapCapture) {
        let benign = try RealCaptures.read(RealCaptures.benign)
        let attackCapture = try RealCaptures.read(attack)
        let scenario = try ScenarioSplicer.splice(
            benign: benign, attack: attackCapture,
            options: SpliceOptions(attackerIP: attacker, includeReplies: replies))
        return (scenario, benign, attackCapture)
    }

    /// Checks what holds for every scenario: counts, labels, day 4, order, untouched benign packets.
    static func checkCommon(_ scenario: SplicedScenario, benign: PcapCapture, attackCount: Int) {
        let records = scenario.capture.records
        let labels = scenario.labels
        #expect(records.count == benign.records.count + attackCount)
        #expect(labels.benignPackets == 24_022)
        #expect(labels.attackPackets == attackCount)
        #expect(labels.attackIndices.count == attackCount)
        #expect(labels.firstAttackIndex == labels.attackIndices.first)
        #expect(labels.victimMAC == cameraMAC.description)
        #expect(labels.victimIP == cameraIP.description)

        let start = benign.records[0].timestampNanoseconds
        #expect(labels.attackStartNanoseconds == start + 3 * day)
        let attackSet = Set(labels.attackIndices)
        for index in labels.attackIndices {
            let time = records[index].timestampNanoseconds
            #expect(time >= start + 3 * day && time < start + 4 * day, "attack record \(index) is not in day 4")
        }
        // The benign records come through unchanged and in order.
        let benignOut = records.indices.filter { !attackSet.contains($0) }.map { records[$0] }
        #expect(benignOut == benign.records)
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.timestampNanoseconds <= $1.timestampNanoseconds })
    }

    @Test("masscan spliced into the camera week")
    func masscan() throws {
        let attacker = IPv4Address(172, 31, 15, 102)
        let (scenario, benign, attack) = try Self.splice(RealCaptures.masscan, attacker: attacker)
        Self.checkCommon(scenario, benign: benign, attackCount: 1_005)
        #expect(scenario.capture.records.count == 25_027)

        var ports = Set<UInt16>()
        for (index, original) in zip(scenario.labels.attackIndices, attack.records) {
            let frame = EthernetFrame(scenario.capture.records[index].data)
            #expect(frame.sourceMAC == Self.cameraMAC)
            #expect(frame.ipv4Source == Self.cameraIP)
            #expect(frame.ipv4Destination == EthernetFrame(original.data).ipv4Destination)
            #expect(ChecksumVerifier.ipHeaderValid(frame.bytes) == true)
            #expect(ChecksumVerifier.transportValid(frame.bytes) == true)
            // Inter-packet timing is kept.
            #expect(scenario.capture.records[index].timestampNanoseconds - scenario.labels.attackStartNanoseconds
                    == original.timestampNanoseconds - attack.records[0].timestampNanoseconds)
            ports.insert(frame.destinationPort ?? 0)
        }
        #expect(ports.count == 1_001)
    }

    @Test("nmap with replies: the whole conversation moves to the camera, ICMP quotes included")
    func nmapWithReplies() throws {
        let attacker = IPv4Address(10, 87, 1, 10)
        let (scenario, benign, attack) = try Self.splice(RealCaptures.nmap, attacker: attacker, replies: true)
        Self.checkCommon(scenario, benign: benign, attackCount: 431)
        var replies = 0
        // Every packet of this capture is to or from the attacker, so they pair up in order.
        for (index, original) in zip(scenario.labels.attackIndices, attack.records) {
            let frame = EthernetFrame(scenario.capture.records[index].data)
            let sent = frame.sourceMAC == Self.cameraMAC
            #expect(sent ? frame.ipv4Source == Self.cameraIP : frame.ipv4Destination == Self.cameraIP)
            if !sent {
                replies += 1
                #expect(frame.destinationMAC == Self.cameraMAC)
            }
            #expect(!Self.contains(frame.bytes, attacker.octets), "record \(index) still mentions the attacker")
            #expect(ChecksumVerifier.ipHeaderValid(frame.bytes) == true)
            // The scanner's own packets were captured before checksum offload filled them in:
            // a rewrite must keep each checksum exactly as right or wrong as it was.
            #expect(ChecksumVerifier.transportValid(frame.bytes) == ChecksumVerifier.transportValid(original.data))
            #expect(ChecksumVerifier.icmpValid(frame.bytes) == ChecksumVerifier.icmpValid(original.data))
        }
        #expect(replies == 204)
        #expect(try Self.splice(RealCaptures.nmap, attacker: attacker).0.labels.attackPackets == 227)
    }

    @Test("iodine: the DNS tunnel queries, with and without replies")
    func iodine() throws {
        let client = IPv4Address(10, 0, 2, 30)
        let (scenario, benign, _) = try Self.splice(RealCaptures.iodine, attacker: client)
        Self.checkCommon(scenario, benign: benign, attackCount: 222)
        for index in scenario.labels.attackIndices {
            let frame = EthernetFrame(scenario.capture.records[index].data)
            #expect(frame.ipv4Source == Self.cameraIP)
            #expect(frame.ipProtocol == 17 && frame.destinationPort == 53)
            if let udp = ChecksumVerifier.transportValid(frame.bytes) { #expect(udp) }
        }
        let (withReplies, _, _) = try Self.splice(RealCaptures.iodine, attacker: client, replies: true)
        Self.checkCommon(withReplies, benign: benign, attackCount: 434)
    }

    @Test("a scenario written to disk reads back identically")
    func writeAndRead() throws {
        let (scenario, _, _) = try Self.splice(RealCaptures.masscan, attacker: IPv4Address(172, 31, 15, 102))
        let directory = try TemporaryDirectory()
        let path = directory.file("masscan.pcap")
        try scenario.capture.write(path: path)
        #expect(try PcapCapture.read(path: path) == scenario.capture)
        #expect(try PcapReader.countRecords(path: path) == 25_027)
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}
