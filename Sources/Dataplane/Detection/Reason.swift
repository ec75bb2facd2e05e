/// Why a packet was judged anomalous: one bit per reason, carried in the mirror metadata.
public struct Reason: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// A destination host the VM has not talked to in its baseline.
    public static let newDestination = Reason(rawValue: 1 << 0)
    /// A service (protocol and service port, or ethertype) the VM has never used.
    public static let newService = Reason(rawValue: 1 << 1)
    /// Many new destination hosts in a short time.
    public static let fanOut = Reason(rawValue: 1 << 2)
    /// Many new ports on one destination host in a short time.
    public static let portScan = Reason(rawValue: 1 << 3)
    /// A packet rate far above the learned peak (of the VM or of one service).
    public static let rateSpike = Reason(rawValue: 1 << 4)
    /// A packet size far from what the service usually sends.
    public static let sizeOutlier = Reason(rawValue: 1 << 5)
    /// A protocol class (TCP, UDP, ICMP, ARP, other) far above its learned peak rate.
    public static let protocolShift = Reason(rawValue: 1 << 6)

    /// Novelty alone (new service, new destination): what probation may turn into a habit.
    public static let novelty = Reason(rawValue: Reason.newDestination.rawValue | Reason.newService.rawValue)

    public static let all: [(Reason, String)] = [
        (.newDestination, "new-destination"), (.newService, "new-service"), (.fanOut, "fan-out"),
        (.portScan, "port-scan"), (.rateSpike, "rate-spike"), (.sizeOutlier, "size-outlier"),
        (.protocolShift, "protocol-shift"),
    ]

    public var names: [String] { Reason.all.filter { contains($0.0) }.map(\.1) }

    public static func named(_ name: String) -> Reason? { all.first { $0.1 == name }?.0 }
}
