/// Why a packet was judged anomalous: one bit per reason, carried in the mirror metadata.
/// The members are computed and inlinable so the dataplane's hot code sees constants.
public struct Reason: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// A destination host the VM has not talked to in its baseline.
    @inlinable public static var newDestination: Reason { Reason(rawValue: 1 << 0) }
    /// A service (protocol and service port, or ethertype) the VM has never used.
    @inlinable public static var newService: Reason { Reason(rawValue: 1 << 1) }
    /// Many new destination hosts in a short time.
    @inlinable public static var fanOut: Reason { Reason(rawValue: 1 << 2) }
    /// Many new ports on one destination host in a short time.
    @inlinable public static var portScan: Reason { Reason(rawValue: 1 << 3) }
    /// A packet rate far above the learned peak (of the VM or of one service).
    @inlinable public static var rateSpike: Reason { Reason(rawValue: 1 << 4) }
    /// A packet size far from what the service usually sends.
    @inlinable public static var sizeOutlier: Reason { Reason(rawValue: 1 << 5) }
    /// A protocol class (TCP, UDP, ICMP, ARP, other) far above its learned peak rate.
    @inlinable public static var protocolShift: Reason { Reason(rawValue: 1 << 6) }

    /// Novelty alone (new service, new destination): what probation may turn into a habit.
    @inlinable public static var novelty: Reason { Reason(rawValue: Reason.newDestination.rawValue | Reason.newService.rawValue) }

    /// How many reasons there are (`all.count`, as a constant for the packet path's counter layout).
    @inlinable public static var count: Int { 7 }

    /// Every reason with its name, lowest bit first (bit i is `all[i]`).
    public static let all: [(Reason, String)] = [
        (.newDestination, "new-destination"), (.newService, "new-service"), (.fanOut, "fan-out"),
        (.portScan, "port-scan"), (.rateSpike, "rate-spike"), (.sizeOutlier, "size-outlier"),
        (.protocolShift, "protocol-shift"),
    ]

    /// The names of the reasons set, lowest bit first.
    public var names: [String] { Reason.all.filter { contains($0.0) }.map(\.1) }

    /// The reason with that name, or nil.
    public static func named(_ name: String) -> Reason? { all.first { $0.1 == name }?.0 }
}
