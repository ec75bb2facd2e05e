import Foundation

/// Ground truth of a spliced scenario, stored next to its pcap as JSON.
/// Indices are 0-based record numbers in the scenario's pcap.
public struct ScenarioLabels: Codable, Equatable, Sendable {
    public var victimMAC: String
    public var victimIP: String
    public var attackerIP: String
    public var attackPackets: Int
    public var benignPackets: Int
    public var firstAttackIndex: Int
    public var attackIndices: [Int]
    /// Timestamps of the first and last attack packets, nanoseconds since the Unix epoch.
    public var attackStartNanoseconds: UInt64
    public var attackEndNanoseconds: UInt64
    public var includesReplies: Bool

    enum CodingKeys: String, CodingKey {
        case victimMAC = "victim_mac"
        case victimIP = "victim_ip"
        case attackerIP = "attacker_ip"
        case attackPackets = "attack_packets"
        case benignPackets = "benign_packets"
        case firstAttackIndex = "first_attack_index"
        case attackIndices = "attack_indices"
        case attackStartNanoseconds = "attack_start_ns"
        case attackEndNanoseconds = "attack_end_ns"
        case includesReplies = "includes_replies"
    }

    public init(
        victimMAC: String, victimIP: String, attackerIP: String, benignPackets: Int,
        attackIndices: [Int], attackStartNanoseconds: UInt64, attackEndNanoseconds: UInt64,
        includesReplies: Bool
    ) {
        self.victimMAC = victimMAC
        self.victimIP = victimIP
        self.attackerIP = attackerIP
        self.attackPackets = attackIndices.count
        self.benignPackets = benignPackets
        self.firstAttackIndex = attackIndices.first ?? -1
        self.attackIndices = attackIndices
        self.attackStartNanoseconds = attackStartNanoseconds
        self.attackEndNanoseconds = attackEndNanoseconds
        self.includesReplies = includesReplies
    }

    /// Stable, readable JSON: sorted keys, so identical scenarios give identical files.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> ScenarioLabels {
        try JSONDecoder().decode(ScenarioLabels.self, from: data)
    }
}
