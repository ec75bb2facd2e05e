import Foundation

/// Why two captures could not be spliced into a scenario.
public enum SpliceError: Error, Equatable, Sendable {
    /// Frames of another link type cannot be rewritten as Ethernet.
    case unsupportedLinkType(capture: String, linkType: LinkType)
    case emptyBenignCapture
    /// No frame of the benign capture has an Ethernet header to take a MAC from.
    case noVictimMAC
    /// The victim MAC never sends IPv4 in the benign capture.
    case noVictimIP(victimMAC: MACAddress)
    case noAttackPackets(attackerIP: IPv4Address, includingReplies: Bool)
    /// The placement lies before day 1 or its timestamps do not fit in 64 bits.
    case placementOutOfRange
}

extension SpliceError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .unsupportedLinkType(capture, linkType):
            return "the \(capture) capture has \(linkType) frames; only Ethernet (1) can be spliced"
        case .emptyBenignCapture:
            return "the benign capture has no packets"
        case .noVictimMAC:
            return "no frame of the benign capture has an Ethernet header; give --victim-mac"
        case let .noVictimIP(mac):
            return "\(mac) sends no IPv4 packet in the benign capture; give --victim-ip"
        case let .noAttackPackets(ip, replies):
            return "the attack capture has no IPv4 packet sent by \(ip)\(replies ? " or to it" : ""); check --attacker-ip"
        case .placementOutOfRange:
            return "the attack would start before the benign capture or past the year 2554; check --at / --day"
        }
    }

    public var errorDescription: String? { description }
}
