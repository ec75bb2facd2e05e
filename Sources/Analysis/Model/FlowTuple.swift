import PacketCapture

/// A packet's 5-tuple in binary, as the frame parser gives it: what storage, the index and the
/// node key their per-flow state on. Cheap to hash and compare; turned into a text `FlowKey` only
/// for index rows and alerts. ICMP type and code stand in for the ports (as Community ID does);
/// other protocols, and fragments after the first, have ports 0.
public struct FlowTuple: Hashable, Sendable, SlotKey {
    /// Addresses as `FrameHeaders` holds them: IPv4 v4-mapped in the low half.
    public var sourceHigh: UInt64
    public var sourceLow: UInt64
    public var destinationHigh: UInt64
    public var destinationLow: UInt64
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var proto: UInt8
    public var isIPv4: Bool

    public init(sourceHigh: UInt64, sourceLow: UInt64, destinationHigh: UInt64, destinationLow: UInt64,
                sourcePort: UInt16, destinationPort: UInt16, proto: UInt8, isIPv4: Bool) {
        self.sourceHigh = sourceHigh
        self.sourceLow = sourceLow
        self.destinationHigh = destinationHigh
        self.destinationLow = destinationLow
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.proto = proto
        self.isIPv4 = isIPv4
    }

    /// The tuple of a parsed frame; nil without an IP header.
    public init?(_ headers: FrameHeaders) {
        guard headers.hasIP else { return nil }
        var ports: (UInt16, UInt16) = (0, 0)
        if headers.flags.contains(.transport), !headers.flags.contains(.laterFragment) {
            switch headers.ipProtocol {
            case 1, 58: ports = (UInt16(headers.icmpType), UInt16(headers.icmpCode))
            default: ports = (headers.sourcePort, headers.destinationPort)
            }
        }
        self.init(sourceHigh: headers.sourceHigh, sourceLow: headers.sourceLow, destinationHigh: headers.destinationHigh,
                  destinationLow: headers.destinationLow, sourcePort: ports.0, destinationPort: ports.1,
                  proto: headers.ipProtocol, isIPv4: headers.isIPv4)
    }

    /// The tuple of a text key (an alert's); nil when an address does not parse or the two are
    /// of different families.
    public init?(_ key: FlowKey) {
        guard let source = PacketView.Address(key.srcIP), let destination = PacketView.Address(key.dstIP),
              source.isIPv4 == destination.isIPv4 else { return nil }
        let (sh, sl) = Self.halves(source)
        let (dh, dl) = Self.halves(destination)
        self.init(sourceHigh: sh, sourceLow: sl, destinationHigh: dh, destinationLow: dl, sourcePort: key.srcPort,
                  destinationPort: key.dstPort, proto: key.proto, isIPv4: source.isIPv4)
    }

    public var source: PacketView.Address { Self.address(sourceHigh, sourceLow, isIPv4) }
    public var destination: PacketView.Address { Self.address(destinationHigh, destinationLow, isIPv4) }

    /// One combine of a premixed value instead of eight (storage and the node hash tuples per packet).
    public func hash(into hasher: inout Hasher) { hasher.combine(mixed) }

    var slotHash: UInt64 { mixed }

    /// The tuple's fields mixed into 64 bits.
    var mixed: UInt64 {
        let ports = UInt64(sourcePort) << 32 | UInt64(destinationPort) << 16 | UInt64(proto) << 1 | (isIPv4 ? 1 : 0)
        return SlotHash.mix(ports &* 0xA076_1D64_78BD_642F ^ sourceLow &* 0xE703_7ED1_A0B4_28DB
                            ^ sourceHigh &* 0x8EBC_6AF0_9C88_C6E3 ^ destinationLow &* 0x9E37_79B9_7F4A_7C15
                            ^ destinationHigh &* 0xD6E8_FEB8_6659_FD93)
    }

    /// The same flow seen from the other side.
    public var reversed: FlowTuple {
        FlowTuple(sourceHigh: destinationHigh, sourceLow: destinationLow, destinationHigh: sourceHigh, destinationLow: sourceLow,
                  sourcePort: destinationPort, destinationPort: sourcePort, proto: proto, isIPv4: isIPv4)
    }

    /// One key for both directions: the smaller (address, port) first.
    public var normalized: FlowTuple {
        (sourceHigh, sourceLow, sourcePort) <= (destinationHigh, destinationLow, destinationPort) ? self : reversed
    }

    /// The text form (formats both addresses: for index rows and alerts, not per packet).
    public var flowKey: FlowKey {
        FlowKey(srcIP: source.description, dstIP: destination.description, proto: proto, srcPort: sourcePort,
                dstPort: destinationPort)
    }

    /// Community ID v1, seed 0.
    public var communityID: String {
        CommunityID.v1(source: source.octets, destination: destination.octets, proto: proto, sourcePort: sourcePort,
                       destinationPort: destinationPort)
    }

    static func address(_ high: UInt64, _ low: UInt64, _ isIPv4: Bool) -> PacketView.Address {
        isIPv4 ? .v4(IPv4Address(rawValue: UInt32(truncatingIfNeeded: low))) : .v6(high: high, low: low)
    }

    static func halves(_ address: PacketView.Address) -> (UInt64, UInt64) {
        switch address {
        case let .v4(v4): (0, 0x0000_FFFF_0000_0000 | UInt64(v4.rawValue))
        case let .v6(high, low): (high, low)
        }
    }
}
