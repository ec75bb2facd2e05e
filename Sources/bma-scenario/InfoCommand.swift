import PacketCapture
import ArgumentParser

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a capture: record count, time span, top source MACs and IPv4 addresses.",
        discussion: """
            With --labels, also checks a scenario against its labels file (same number of \
            records, attack indices inside the file) and shows where the attack lies.
            """)

    @Argument(help: ArgumentHelp("Capture to describe (classic pcap).", valueName: "pcap"))
    var file: String

    @Option(help: "How many of the most frequent senders to list.")
    var top = 5

    @Option(help: ArgumentHelp("Labels JSON written by 'bma-scenario splice' for this capture.", valueName: "json"))
    var labels: String?

    func validate() throws {
        guard (0...1_000).contains(top) else { throw ValidationError("--top: \(top) is not between 0 and 1000") }
    }

    func run() throws {
        var reader = try PcapReader(path: file)
        let header = reader.header
        let records = try reader.readAll()
        let summary = CaptureSummary(records: records)

        print("file:            \(file)")
        print("link type:       \(header.linkType)")
        print("resolution:      \(header.resolution == .nanoseconds ? "nanoseconds" : "microseconds"), "
            + "\(header.byteOrder == .littleEndian ? "little" : "big")-endian, snap length \(header.snapLength)")
        print("records:         \(summary.recordCount) (\(summary.ipv4Count) IPv4)")
        if let first = summary.firstTimestampNanoseconds, let last = summary.lastTimestampNanoseconds {
            print("first packet:    \(TimestampFormatting.utc(first))")
            print("last packet:     \(TimestampFormatting.utc(last))")
            print("time span:       \(TimestampFormatting.duration(summary.timeSpanNanoseconds))")
        }
        print("out of order:    \(summary.outOfOrderCount)")
        printTop("top source MACs:", summary.topSourceMACs(top).map { ($0.address.description, $0.count) }, of: summary.recordCount)
        printTop("top source IPv4:", summary.topSourceIPv4Addresses(top).map { ($0.address.description, $0.count) }, of: summary.recordCount)

        if let labels {
            try describe(labels: try LabelsFile.read(labels), path: labels, records: records)
        }
    }

    private func printTop(_ title: String, _ rows: [(String, Int)], of total: Int) {
        guard !rows.isEmpty else { return }
        print(title)
        for (name, count) in rows {
            let share = total > 0 ? String(format2: Double(count) * 100 / Double(total)) : "0.00"
            print("  \(Self.padded(String(count), 8))  \(Self.padded(share, 6))%  \(name)")
        }
    }

    private static func padded(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    private func describe(labels: ScenarioLabels, path: String, records: [PcapRecord]) throws {
        print("labels:          \(path)")
        print("  victim:        \(labels.victimMAC) \(labels.victimIP) (attacker \(labels.attackerIP)\(labels.includesReplies ? ", with replies" : ""))")
        print("  packets:       \(labels.benignPackets) benign + \(labels.attackPackets) attack")
        guard let first = labels.attackIndices.first, let last = labels.attackIndices.last else {
            print("  attack:        none")
            return
        }
        print("  attack index:  \(first)...\(last)")
        print("  attack time:   \(TimestampFormatting.utc(labels.attackStartNanoseconds)) to \(TimestampFormatting.utc(labels.attackEndNanoseconds))")
        var problems: [String] = []
        if labels.benignPackets + labels.attackPackets != records.count {
            problems.append("labels count \(labels.benignPackets + labels.attackPackets) packets, the file has \(records.count)")
        }
        if labels.attackIndices.count != labels.attackPackets || labels.firstAttackIndex != first {
            problems.append("attack_packets or first_attack_index disagree with attack_indices")
        }
        if !zip(labels.attackIndices, labels.attackIndices.dropFirst()).allSatisfy({ $0 < $1 }) || first < 0 || last >= records.count {
            problems.append("attack_indices are not increasing record numbers inside the file")
        }
        guard problems.isEmpty else {
            throw ValidationError("labels do not match \(file): " + problems.joined(separator: "; "))
        }
        print("  check:         labels match the file")
    }
}
