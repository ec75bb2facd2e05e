/// Keys of the modules' tables: addresses are scoped by VM, since VMs on different hosts may
/// use the same private addresses.
struct InspectHostKey: Hashable, Sendable {
    var vm: UInt32
    var host: PacketView.Address
}

struct InspectPairKey: Hashable, Sendable {
    var vm: UInt32
    var source: PacketView.Address
    var destination: PacketView.Address
}

/// A directed transport flow: the initiator's address and port first.
struct InspectFlowTuple: Hashable, Sendable {
    var vm: UInt32
    var proto: UInt8
    var source: PacketView.Address
    var sourcePort: UInt16
    var destination: PacketView.Address
    var destinationPort: UInt16

    var reversed: InspectFlowTuple {
        InspectFlowTuple(vm: vm, proto: proto, source: destination, sourcePort: destinationPort, destination: source,
                  destinationPort: sourcePort)
    }

    var flowKey: FlowKey {
        FlowKey(srcIP: source.description, dstIP: destination.description, proto: proto, srcPort: sourcePort,
                dstPort: destinationPort)
    }
}

extension PacketView {
    /// The packet's directed tuple, for TCP and UDP.
    func tuple(vm: UInt32) -> InspectFlowTuple? {
        guard let ip, let ports else { return nil }
        return InspectFlowTuple(vm: vm, proto: ip.protocolNumber, source: ip.source, sourcePort: ports.source,
                         destination: ip.destination, destinationPort: ports.destination)
    }
}

/// Small helpers for the modules' reports and details.
enum InspectFormat {
    static func seconds(_ nanoseconds: UInt64) -> String {
        let value = Double(nanoseconds) / 1e9
        return value == value.rounded() ? String(Int(value)) : String(format3(value))
    }

    static func format3(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let scaled = (value * 1000).rounded() / 1000
        return scaled == scaled.rounded() && abs(scaled) < 1e15 ? String(Int(scaled)) : String(scaled)
    }
}

// The modules' keys hash themselves (see `SlotIndex`): each word multiplied by its own odd
// constant, folded, and mixed once (no SipHash, one finaliser per key).
extension PacketView.Address {
    /// The address as one word before mixing (v6: both halves folded; v4 tagged apart from v6).
    @inline(__always)
    var slotWord: UInt64 {
        switch self {
        case let .v4(v4): UInt64(v4.rawValue) | 1 << 40
        case let .v6(high, low): high &* 0x8EBC_6AF0_9C88_C6E3 ^ low
        }
    }
}

extension InspectHostKey: SlotKey {
    var slotHash: UInt64 { SlotHash.mix(UInt64(vm) &* 0xA076_1D64_78BD_642F ^ host.slotWord &* 0xE703_7ED1_A0B4_28DB) }
}

extension InspectPairKey: SlotKey {
    var slotHash: UInt64 {
        SlotHash.mix(UInt64(vm) &* 0xA076_1D64_78BD_642F ^ source.slotWord &* 0xE703_7ED1_A0B4_28DB
                     ^ destination.slotWord &* 0x9E37_79B9_7F4A_7C15)
    }
}

extension InspectFlowTuple: SlotKey {
    var slotHash: UInt64 {
        let ports = UInt64(vm) << 40 | UInt64(sourcePort) << 24 | UInt64(destinationPort) << 8 | UInt64(proto)
        return SlotHash.mix(ports &* 0xA076_1D64_78BD_642F ^ source.slotWord &* 0xE703_7ED1_A0B4_28DB
                            ^ destination.slotWord &* 0x9E37_79B9_7F4A_7C15)
    }
}
