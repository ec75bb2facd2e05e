import PacketCapture
import ArgumentParser

struct SpliceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "splice",
        abstract: "Splice an attack capture into a VM's benign capture and label every packet.",
        discussion: """
            The victim is the VM of the benign capture: by default its most frequent source MAC, \
            and the IPv4 source address that MAC sends most. The attack is every IPv4 packet of \
            the attack capture sent by --attacker-ip (with --with-replies, also those sent to it). \
            Attack packets get the victim's MAC and IP (checksums fixed) and are shifted so the \
            first lands at --at or --day, keeping their own timing; both streams are then merged \
            by time, benign first on ties.

            The labels file is JSON: victim_mac, victim_ip, attacker_ip, attack_packets, \
            benign_packets, first_attack_index, attack_indices (0-based record numbers in the \
            output pcap), attack_start_ns, attack_end_ns, includes_replies.

            Example:
              bma-scenario splice --benign benign-camera-week.pcap \\
                --attack masscan-tcp-1000-ports.pcap --attacker-ip 172.31.15.102 \\
                --out masscan.pcap --labels masscan.labels.json
            """)

    @Option(help: ArgumentHelp("The VM's own benign traffic (classic pcap, Ethernet).", valueName: "pcap"))
    var benign: String

    @Option(help: ArgumentHelp("Capture holding the attack (classic pcap, Ethernet).", valueName: "pcap"))
    var attack: String

    @Option(name: .customLong("attacker-ip"), help: ArgumentHelp("Source address of the attack packets in the attack capture.", valueName: "ip"))
    var attackerIP: String

    @Option(name: .customLong("victim-mac"), help: ArgumentHelp("The VM's MAC (default: the most frequent source MAC of the benign capture).", valueName: "mac"))
    var victimMAC: String?

    @Option(name: .customLong("victim-ip"), help: ArgumentHelp("The VM's IPv4 address (default: the source address the victim MAC sends most).", valueName: "ip"))
    var victimIP: String?

    @Option(name: .customLong("gateway-mac"), help: ArgumentHelp("Also rewrite the attack's far-side MAC (destination of sent packets, source of replies), e.g. to the VM's gateway (default: keep it).", valueName: "mac"))
    var gatewayMAC: String?

    @Option(help: ArgumentHelp("Put the first attack packet this many seconds after the first benign packet.", valueName: "seconds"))
    var at: Double?

    @Option(help: ArgumentHelp("Put the first attack packet at the start of day N of the benign capture, (N-1) × 24 h after its first packet (default: 4).", valueName: "N"))
    var day: Int?

    @Flag(name: .customLong("with-replies"), help: "Also take the packets sent to the attacker, rewriting their destination to the victim.")
    var withReplies = false

    @Option(help: ArgumentHelp("Scenario pcap to write.", valueName: "pcap"))
    var out: String

    @Option(help: ArgumentHelp("Labels JSON to write.", valueName: "json"))
    var labels: String

    /// A century: far enough for any test, small enough for 64-bit nanoseconds.
    private static let maximumSeconds = 100.0 * 365 * 86_400

    func validate() throws {
        _ = try spliceOptions()
        let inputs = [benign, attack]
        if inputs.contains(out) || inputs.contains(labels) || out == labels {
            throw ValidationError("--out and --labels must be two new files, neither of them an input capture")
        }
    }

    func run() throws {
        let options = try spliceOptions()
        let benignCapture = try PcapCapture.read(path: benign)
        let attackCapture = try PcapCapture.read(path: attack)
        let scenario = try ScenarioSplicer.splice(benign: benignCapture, attack: attackCapture, options: options)
        try scenario.capture.write(path: out)
        try LabelsFile.write(scenario.labels, to: labels)

        let result = scenario.labels
        print("victim \(result.victimMAC) \(result.victimIP), attacker \(result.attackerIP)")
        print("\(result.benignPackets) benign + \(result.attackPackets) attack = \(scenario.capture.records.count) packets -> \(out)")
        print("attack indices \(result.firstAttackIndex)...\(result.attackIndices.last ?? -1), "
            + "from \(TimestampFormatting.utc(result.attackStartNanoseconds)) to \(TimestampFormatting.utc(result.attackEndNanoseconds))")
        print("labels -> \(labels)")
        if let benignEnd = benignCapture.records.last?.timestampNanoseconds, result.attackStartNanoseconds > benignEnd {
            print("note: the attack starts after the last benign packet (\(TimestampFormatting.utc(benignEnd)))")
        }
    }

    private func spliceOptions() throws -> SpliceOptions {
        SpliceOptions(
            attackerIP: try OptionParsing.ipv4(attackerIP, option: "--attacker-ip"),
            victimMAC: try OptionParsing.mac(victimMAC, option: "--victim-mac"),
            victimIP: try OptionParsing.ipv4(victimIP, option: "--victim-ip"),
            placement: try placement(),
            includeReplies: withReplies,
            gatewayMAC: try OptionParsing.mac(gatewayMAC, option: "--gateway-mac"))
    }

    private func placement() throws -> AttackPlacement {
        switch (at, day) {
        case (.some, .some):
            throw ValidationError("give either --at or --day, not both")
        case let (.some(seconds), nil):
            guard seconds.isFinite, seconds >= 0, seconds <= Self.maximumSeconds else {
                throw ValidationError("--at: \(seconds) is not a number of seconds between 0 and \(Int(Self.maximumSeconds))")
            }
            return .afterStart(nanoseconds: UInt64((seconds * 1e9).rounded()))
        case let (nil, .some(day)):
            guard (1...36_500).contains(day) else {
                throw ValidationError("--day: \(day) is not a day between 1 and 36500 (day 1 starts at the first benign packet)")
            }
            return .day(day)
        case (nil, nil):
            return .day(4)
        }
    }
}
