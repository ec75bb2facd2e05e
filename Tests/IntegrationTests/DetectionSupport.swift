import PacketCapture
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// Helpers of the detection and mirror tests: `bmad replay` runs, labelled scenarios built with
// the splicer, scoring (scripts/score-replay in Swift), crafted frames and tshark.

// MARK: - Summary

/// The `vms` and `mirror` sections of a bmad summary (Sources/Dataplane/StatsSnapshot.swift),
/// decoded field by field so that a renamed or missing field fails the test.
struct DetectionSummary: Decodable {
    struct Baseline: Decodable, Equatable {
        var learnedPackets: UInt64
        var services: Int
        var hosts: Int
        var destinations: Int
        var frozen: Bool
        var memoryBytes: Int

        enum CodingKeys: String, CodingKey {
            case learnedPackets = "learned_packets", services, hosts, destinations, frozen, memoryBytes = "memory_bytes"
        }
    }

    struct VM: Decodable, Equatable {
        var name: String
        var id: UInt32
        var mac: String?
        var seen, outgoing, incoming, forwarded, learning, anomalous, sticky: UInt64
        var mirrorDecisions: UInt64
        var reasons: [String: UInt64]
        var mirrored, mirroredBytes, preTrigger, budgetDrops, mirrorDrops: UInt64
        var baseline: Baseline?

        enum CodingKeys: String, CodingKey {
            case name, id, mac, seen, outgoing, incoming, forwarded, learning, anomalous, sticky
            case mirrorDecisions = "mirror_decisions", reasons, mirrored, mirroredBytes = "mirrored_bytes"
            case preTrigger = "pre_trigger", budgetDrops = "budget_drops", mirrorDrops = "mirror_drops", baseline
        }

        /// Reasons with a non-zero count, for messages.
        var reasonText: String {
            reasons.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }

    struct Mirror: Decodable, Equatable {
        var sent, sentBytes, nombuf, ringfull, tooBig: UInt64

        enum CodingKeys: String, CodingKey {
            case sent, sentBytes = "sent_bytes", nombuf, ringfull, tooBig = "too_big"
        }
    }

    var vms: [VM]
    var mirror: Mirror

    static func read(path: String) throws -> DetectionSummary {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScratchError(message: "no summary at \(path)")
        }
        return try JSONDecoder().decode(DetectionSummary.self, from: data)
    }

    func vm(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> VM {
        guard let vm = vms.first(where: { $0.name == name }) else {
            XCTFail("summary has no VM '\(name)' (VMs: \(vms.map(\.name)))", file: file, line: line)
            throw ScratchError(message: "no VM \(name)")
        }
        return vm
    }
}

// MARK: - bmad replay

/// One finished `bmad replay`.
struct ReplayRun {
    var summary: DetectionSummary
    var summaryPath: String
    var mirrorPath: String
    /// The mirror-out records, in file order.
    var mirrorRecords: [PcapRecord]
    var mirrorFrames: [[UInt8]] { mirrorRecords.map(\.data) }
    /// Wall time of the bmad process.
    var seconds: Double
    var stdout: String
    var stderr: String
}

enum DetectionReplay {
    struct VM {
        var name: String
        var path: String
        var mac: String? = nil
    }

    /// Runs `bmad replay` to completion (at most `timeout` seconds, then it is killed and the test
    /// fails) and reads what it wrote. A non-zero exit throws, with bmad's output.
    static func run(
        _ vms: [VM], in scratch: ScratchDirectory, label: String,
        learning: Double? = nil, sensitivity: Double? = nil, config: String? = nil, decisions: String? = nil,
        timeout: TimeInterval = 60
    ) throws -> ReplayRun {
        let bmad = try TestEnvironment.binary("bmad")
        let mirror = scratch.file("\(label)-mirror.pcap")
        let summary = scratch.file("\(label)-summary.json")
        var args = ["replay"]
        for vm in vms { args += ["--vm", "\(vm.name)=\(vm.path)" + (vm.mac.map { "@\($0)" } ?? "")] }
        args += ["--mirror-out", mirror, "--summary-json", summary]
        if let learning { args += ["--learning", String(learning)] }
        if let sensitivity { args += ["--sensitivity", String(sensitivity)] }
        if let config { args += ["--config", config] }
        if let decisions { args += ["--decisions", decisions] }
        let started = Date()
        let child = try ChildProcess(name: "replay-\(label)", executable: bmad, arguments: args, directory: scratch.path)
        let status: ExitStatus
        do {
            status = try child.waitForExit(timeout: timeout)
        } catch {
            child.kill(signal: SIGKILL)
            throw error
        }
        let seconds = Date().timeIntervalSince(started)
        guard status == .exited(0) else {
            throw ScratchError(message: "bmad \(args.joined(separator: " ")): \(status)\n\(child.outputTail())")
        }
        return ReplayRun(
            summary: try DetectionSummary.read(path: summary), summaryPath: summary, mirrorPath: mirror,
            mirrorRecords: try PcapCapture.read(path: mirror).records, seconds: seconds,
            stdout: child.stdout, stderr: child.stderr)
    }
}

// MARK: - Scenarios

/// A capture replayed as one VM, with the ground truth of which packets are the attack.
struct DetectionScenario {
    var name: String
    var path: String
    var records: [PcapRecord]
    /// 0-based record numbers of the attack packets, ascending (empty: benign only).
    var attackIndices: [Int]
    var victimMAC: MACAddress

    var frames: [[UInt8]] { records.map(\.data) }

    /// Records sent by the victim (the VM's outgoing traffic).
    var outgoingIndices: [Int] {
        records.indices.filter { EthernetFrame(records[$0].data).sourceMAC == victimMAC }
    }

    static let benignFile = "benign-camera-week.pcap"

    /// The benign week with the attack capture's packets from `attacker` spliced in at day 4.
    static func spliced(
        _ name: String, attack file: String, attacker: String, in scratch: ScratchDirectory
    ) throws -> DetectionScenario {
        let attack = try PcapCapture.read(path: try TestEnvironment.capture(file))
        return try spliced(name, attack: attack, attacker: attacker, into: benignFile, day: 4, in: scratch)
    }

    /// `attack`'s packets from `attacker` spliced into the benign capture `benignFile` at `day`.
    static func spliced(
        _ name: String, attack: PcapCapture, attacker: String, into benignFile: String, day: Int, in scratch: ScratchDirectory
    ) throws -> DetectionScenario {
        let benign = try PcapCapture.read(path: try TestEnvironment.capture(benignFile))
        guard let ip = IPv4Address(attacker) else { throw ScratchError(message: "bad address \(attacker)") }
        let scenario = try ScenarioSplicer.splice(benign: benign, attack: attack, options: SpliceOptions(attackerIP: ip, placement: .day(day)))
        let path = scratch.file("\(name).pcap")
        try scenario.capture.write(path: path)
        guard let victim = MACAddress(scenario.labels.victimMAC) else {
            throw ScratchError(message: "labels: bad victim MAC \(scenario.labels.victimMAC)")
        }
        return DetectionScenario(
            name: name, path: path, records: scenario.capture.records,
            attackIndices: scenario.labels.attackIndices.sorted(), victimMAC: victim)
    }

    /// The benign week alone, as it is in the captures directory.
    static func benignWeek(_ benignFile: String = benignFile) throws -> DetectionScenario {
        let path = try TestEnvironment.capture(benignFile)
        let capture = try PcapCapture.read(path: path)
        guard let victim = CaptureSummary(records: capture.records).mostFrequentSourceMAC else {
            throw ScratchError(message: "\(path): no source MAC")
        }
        return DetectionScenario(name: "benign week", path: path, records: capture.records, attackIndices: [], victimMAC: victim)
    }
}

// MARK: - Scoring

/// What scripts/score-replay prints, computed here.
struct DetectionScore: CustomStringConvertible {
    var attackPackets = 0
    var attackMirrored = 0
    var benignAfterLearning = 0
    var benignMirrored = 0
    /// 1-based attack packet number of the first attack packet mirrored.
    var firstAttackMirrored: Int?
    var mirroredTotal = 0
    /// Outgoing packets within the learning period.
    var outgoingInLearning = 0
    /// Scenario index of every mirrored frame, in mirror order (nil: no match in order).
    var matched: [Int?] = []

    var attackPercent: Double { attackPackets == 0 ? 0 : 100 * Double(attackMirrored) / Double(attackPackets) }
    var benignPercent: Double { benignAfterLearning == 0 ? 0 : 100 * Double(benignMirrored) / Double(benignAfterLearning) }
    var unmatched: Int { matched.filter { $0 == nil }.count }

    var description: String {
        "attack \(attackMirrored)/\(attackPackets) (\(String(format: "%.2f", attackPercent)) %), "
            + "benign after learning \(benignMirrored)/\(benignAfterLearning) (\(String(format: "%.3f", benignPercent)) %), "
            + "first attack packet mirrored \(firstAttackMirrored.map(String.init) ?? "none"), mirrored \(mirroredTotal)"
    }

    /// Matches every mirrored frame to the scenario's frames in order (mirror order follows
    /// capture order), as scripts/score-replay does.
    init(scenario: DetectionScenario, mirrored: [[UInt8]], learningSeconds: Double) {
        let records = scenario.records
        var j = 0
        for frame in mirrored {
            while j < records.count && records[j].data != frame { j += 1 }
            if j == records.count {
                matched.append(nil)
                j = 0 // keep scoring the rest; the test fails on `unmatched`
                continue
            }
            matched.append(j)
            j += 1
        }
        let set = Set(matched.compactMap { $0 })
        let attack = Set(scenario.attackIndices)
        let outgoing = scenario.outgoingIndices
        mirroredTotal = mirrored.count
        attackPackets = scenario.attackIndices.count
        attackMirrored = scenario.attackIndices.filter(set.contains).count
        firstAttackMirrored = scenario.attackIndices.firstIndex(where: set.contains).map { $0 + 1 }
        guard let first = outgoing.first else { return }
        let t0 = records[first].timestampNanoseconds
        let learningNs = UInt64(learningSeconds * 1e9)
        for i in outgoing {
            let t = records[i].timestampNanoseconds
            let inLearning = t < t0 || t - t0 < learningNs
            if inLearning { outgoingInLearning += 1 }
            if attack.contains(i) || inLearning { continue }
            benignAfterLearning += 1
            if set.contains(i) { benignMirrored += 1 }
        }
    }
}

// MARK: - Crafted frames

/// Frames built for the detection and mirror tests, with correct checksums.
enum DetectionFrames {
    /// IPv4/UDP whose payload is `tag` padded with zeros to `payloadLength` bytes (all frames of a
    /// test then have the same size, and each is named by its tag).
    static func udp(
        from source: MACAddress, to destination: MACAddress, _ sourceIP: IPv4Address, _ destinationIP: IPv4Address,
        sourcePort: UInt16 = 40000, destinationPort: UInt16, tag: String, payloadLength: Int = 24
    ) -> [UInt8] {
        var payload = Array(tag.utf8)
        precondition(payload.count <= payloadLength, "tag too long")
        payload += [UInt8](repeating: 0, count: payloadLength - payload.count)
        var udp = be16(sourcePort) + be16(destinationPort) + be16(UInt16(8 + payload.count)) + [0, 0] + payload
        let sum = transportSum(udp, proto: 17, sourceIP, destinationIP)
        let checksum = InternetChecksum.checksum(ofSum: sum)
        udp.replaceSubrange(6..<8, with: be16(checksum == 0 ? 0xFFFF : checksum))
        return ethernet(source, destination) + ipv4(sourceIP, destinationIP, proto: 17, payloadLength: udp.count) + udp
    }

    /// A TCP SYN as Linux sends it (MSS, SACK permitted, timestamps, window scale): 74 bytes.
    static func tcpSyn(
        from source: MACAddress, to destination: MACAddress, _ sourceIP: IPv4Address, _ destinationIP: IPv4Address,
        sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32
    ) -> [UInt8] {
        let options: [UInt8] = [2, 4, 0x05, 0xB4, 4, 2, 8, 10] + be32(sequence ^ 0x5A5A_5A5A) + be32(0) + [1, 3, 3, 7]
        var tcp = be16(sourcePort) + be16(destinationPort) + be32(sequence) + be32(0)
            + [UInt8((20 + options.count) / 4) << 4, 0x02] + be16(64240) + [0, 0] + [0, 0] + options
        let checksum = InternetChecksum.checksum(ofSum: transportSum(tcp, proto: 6, sourceIP, destinationIP))
        tcp.replaceSubrange(16..<18, with: be16(checksum))
        return ethernet(source, destination) + ipv4(sourceIP, destinationIP, proto: 6, payloadLength: tcp.count) + tcp
    }

    /// The tag of a frame built by `udp` (its payload up to the first zero byte).
    static func tag(_ frame: [UInt8]) -> String {
        guard frame.count > 42 else { return "?" }
        return String(decoding: frame[42...].prefix { $0 != 0 }, as: UTF8.self)
    }

    static func ethernet(_ source: MACAddress, _ destination: MACAddress) -> [UInt8] {
        destination.octets + source.octets + [0x08, 0x00]
    }

    static func ipv4(_ source: IPv4Address, _ destination: IPv4Address, proto: UInt8, payloadLength: Int) -> [UInt8] {
        var ip: [UInt8] = [0x45, 0] + be16(UInt16(20 + payloadLength)) + [0, 1, 0x40, 0, 64, proto, 0, 0]
            + source.octets + destination.octets
        ip.replaceSubrange(10..<12, with: be16(InternetChecksum.checksum(ofSum: InternetChecksum.sum(ip, 0..<20))))
        return ip
    }

    static func transportSum(_ segment: [UInt8], proto: UInt8, _ source: IPv4Address, _ destination: IPv4Address) -> UInt16 {
        let pseudo = source.octets + destination.octets + [0, proto] + be16(UInt16(segment.count))
        return InternetChecksum.sum(segment, 0..<segment.count, initial: InternetChecksum.sum(pseudo, 0..<pseudo.count))
    }

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func be32(_ v: UInt32) -> [UInt8] { be16(UInt16(v >> 16)) + be16(UInt16(truncatingIfNeeded: v)) }

    static func mac(_ text: String) -> MACAddress {
        guard let m = MACAddress(text) else { preconditionFailure("bad MAC literal \(text)") }
        return m
    }

    static func ip(_ text: String) -> IPv4Address {
        guard let a = IPv4Address(text) else { preconditionFailure("bad IPv4 literal \(text)") }
        return a
    }
}

// MARK: - tshark

enum DetectionTshark {
    static var path: String? { TestEnvironment.which("tshark") }

    /// `tshark -r FILE -T fields -E separator=/t -e F...` (plus `extra` options): one row per frame,
    /// one column per field; several occurrences of a field are joined by ','.
    static func fields(_ file: String, _ fields: [String], extra: [String] = [], in scratch: ScratchDirectory, label: String) throws -> [[String]] {
        guard let tshark = path else { throw XCTSkip("tshark is not installed") }
        var args = ["-r", file, "-n", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"] + extra
        for f in fields { args += ["-e", f] }
        let child = try ChildProcess(name: "tshark-\(label)", executable: tshark, arguments: args, directory: scratch.path)
        let status: ExitStatus
        do {
            status = try child.waitForExit(timeout: 60)
        } catch {
            child.kill(signal: SIGKILL)
            throw error
        }
        guard status == .exited(0) else { throw ScratchError(message: "tshark \(args.joined(separator: " ")): \(status)\n\(child.outputTail())") }
        return child.stdout.split(separator: "\n", omittingEmptySubsequences: true).map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
    }
}
