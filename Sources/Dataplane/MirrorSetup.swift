import BMAContract

/// How and where mirrored copies go, and how many may go.
public struct MirrorSetup: Sendable, Equatable {
    /// BMA_ENCAP_* codes and names live in the shared contract.
    public typealias Encapsulation = MirrorEncapsulation

    public var encapsulation: Encapsulation = .standard
    /// IPv4 collectors (host order); a symmetric flow hash picks one per flow.
    public var collectors: [UInt32] = []
    public var nextHopMAC: UInt64 = 0
    /// Outer source address; 0 picks 0.0.0.0 (set it for routed collectors).
    public var sourceIP: UInt32 = 0
    /// Bytes of each original frame kept; 0 keeps whole frames.
    public var snaplen: UInt32 = 0
    /// Per-VM and per-worker budgets (0 = unlimited).
    public var vmPacketsPerSecond: Double = 10_000
    public var vmBytesPerSecond: Double = 125_000_000
    public var totalPacketsPerSecond: Double = 100_000
    public var totalBytesPerSecond: Double = 1_250_000_000
    public var mbufs: UInt32 = 8191
    /// Authenticate Geneve copies with this key (MirrorAuthentication); nil = off.
    public var authentication: MirrorKey?

    public init() {}
}
