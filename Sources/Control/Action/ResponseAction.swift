import BMAContract
import ControlProtocol

/// A response action bmad enforces on a VM's outgoing traffic (modelled on Zeek NetControl):
/// drop, rate-limit, force-mirror or allow, on a VM, a flow (5-tuple) or a destination (CIDR
/// with an optional protocol and port), with a priority, a reason and an expiry.
public struct ResponseAction: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case drop
        case rateLimit = "rate-limit"
        case forceMirror = "force-mirror"
        case allow
    }

    /// A 5-tuple as the VM sends it: its own address is `src`.
    public struct Flow: Sendable, Equatable, Hashable {
        public var src: CIDR
        public var dst: CIDR
        public var proto: PolicyProtocol
        /// nil = any port (ports are TCP's and UDP's).
        public var srcPort: UInt16?
        public var dstPort: UInt16?
    }

    /// A destination network, optionally one protocol and one destination port.
    public struct Destination: Sendable, Equatable, Hashable {
        public var cidr: CIDR
        public var proto: PolicyProtocol?
        public var port: UInt16?
    }

    public var id: UInt32 = 0
    public var kind: Kind
    /// nil = every VM (then a flow or a destination is required).
    public var vm: VMReference?
    public var flow: Flow?
    public var destination: Destination?
    /// rate-limit: at least one of them.
    public var packetsPerSecond: Double?
    public var bytesPerSecond: Double?
    public var priority: Int = 0
    public var reason: String = ""
    /// Wall-clock nanoseconds.
    public var createdNs: UInt64 = 0
    public var expiresNs: UInt64 = 0

    /// Two actions with the same kind and target are the same action (a second `action.add`
    /// answers `exists` and extends the first one's expiry).
    public func sameTarget(as other: ResponseAction) -> Bool {
        kind == other.kind && vm == other.vm && flow == other.flow && destination == other.destination
    }

    public static let limits = (priority: -1_000_000...1_000_000, reasonBytes: 512)
}
