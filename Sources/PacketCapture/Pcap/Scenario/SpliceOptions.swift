/// Where the first attack packet of a spliced scenario lands.
public enum AttackPlacement: Sendable, Equatable {
    /// This long after the first benign packet.
    case afterStart(nanoseconds: UInt64)
    /// At the start of day `n` (1-based) of the benign capture: (n - 1) × 24 h after its first packet.
    case day(Int)

    static let nanosecondsPerDay: UInt64 = 86_400 * 1_000_000_000

    /// Offset from the first benign packet; nil for a day before day 1 or too far to represent.
    var offsetNanoseconds: UInt64? {
        switch self {
        case let .afterStart(nanoseconds):
            return nanoseconds
        case let .day(day):
            guard day >= 1 else { return nil }
            let (offset, overflow) = UInt64(day - 1).multipliedReportingOverflow(by: Self.nanosecondsPerDay)
            return overflow ? nil : offset
        }
    }
}

/// What to splice into a benign capture, and as whom.
public struct SpliceOptions: Sendable, Equatable {
    /// Packets sent by this address are the attack.
    public var attackerIP: IPv4Address
    /// The VM the attack is attributed to; inferred from the benign capture when nil.
    public var victimMAC: MACAddress?
    public var victimIP: IPv4Address?
    public var placement: AttackPlacement
    /// Also take the packets sent to the attacker, rewriting their destination.
    public var includeReplies: Bool
    /// When set, the attack's far side (the destination MAC of sent packets, the source MAC of
    /// replies) becomes this MAC, e.g. the victim's usual gateway; otherwise it is kept.
    public var gatewayMAC: MACAddress?

    public init(
        attackerIP: IPv4Address,
        victimMAC: MACAddress? = nil,
        victimIP: IPv4Address? = nil,
        placement: AttackPlacement = .day(4),
        includeReplies: Bool = false,
        gatewayMAC: MACAddress? = nil
    ) {
        self.attackerIP = attackerIP
        self.victimMAC = victimMAC
        self.victimIP = victimIP
        self.placement = placement
        self.includeReplies = includeReplies
        self.gatewayMAC = gatewayMAC
    }
}
