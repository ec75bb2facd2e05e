import BMAContract
import Foundation

/// Community ID v1 flow hashes (corelight/community-id-spec): SHA-1 over the seed and the
/// endpoint-ordered tuple, base64, prefixed "1:". Both directions of a flow get the same ID.
///
/// Hashed bytes, all network order: seed(2) source address(4|16) destination address(4|16)
/// protocol(1) 0(1), then source port(2) destination port(2) for TCP, UDP, SCTP, ICMP and ICMPv6
/// only. The endpoints are swapped when (destination address, port) is smaller than the source's.
/// ICMP and ICMPv6 use type and code as ports, mapped as Zeek does: a type with a reply type
/// (echo, timestamp, information, router, mask; ICMPv6 echo, MLD, router and neighbor discovery,
/// node information, home agent discovery) hashes as (type, reply type) and is ordered like a
/// port pair; any other type hashes as (type, code) and is never swapped (one-way).
public enum CommunityID {
    /// The ID of a tuple given as raw addresses (both 4 or both 16 bytes). For ICMP/ICMPv6, the
    /// ports are the message type and code.
    public static func v1(source: [UInt8], destination: [UInt8], proto: UInt8, sourcePort: UInt16, destinationPort: UInt16,
                          seed: UInt16 = 0) -> String {
        var (sourcePort, destinationPort) = (sourcePort, destinationPort)
        var oneWay = false
        if proto == 1 || proto == 58 {
            let type = UInt8(truncatingIfNeeded: sourcePort)
            if let counterpart = (proto == 1 ? icmpCounterparts : icmp6Counterparts)[type] {
                (sourcePort, destinationPort) = (UInt16(type), UInt16(counterpart))
            } else {
                oneWay = true
            }
        }
        var (first, second) = (source, destination)
        if !oneWay {
            let ordered = first.lexicographicallyPrecedes(second) || (first == second && sourcePort < destinationPort)
            if !ordered {
                swap(&first, &second)
                swap(&sourcePort, &destinationPort)
            }
        }
        var input: [UInt8] = [UInt8(seed >> 8), UInt8(truncatingIfNeeded: seed)]
        input += first
        input += second
        input += [proto, 0]
        if portProtocols.contains(proto) {
            input += [UInt8(sourcePort >> 8), UInt8(truncatingIfNeeded: sourcePort),
                      UInt8(destinationPort >> 8), UInt8(truncatingIfNeeded: destinationPort)]
        }
        return "1:" + Data(SHA1.hash(input)).base64EncodedString()
    }

    /// The ID of a `FlowKey` (addresses as text); nil when an address does not parse or the two
    /// are of different families.
    public static func v1(_ key: FlowKey, seed: UInt16 = 0) -> String? {
        guard let source = addressBytes(key.srcIP), let destination = addressBytes(key.dstIP),
              source.count == destination.count else { return nil }
        return v1(source: source, destination: destination, proto: key.proto, sourcePort: key.srcPort,
                  destinationPort: key.dstPort, seed: seed)
    }

    /// Network-order bytes of an address as text: 4 for a dotted quad, 16 for IPv6 text.
    static func addressBytes(_ text: String) -> [UInt8]? {
        guard let address = IPAddressText.parse(text) else { return nil }
        func bytes(_ value: UInt64, _ count: Int) -> [UInt8] {
            (0..<count).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * (count - 1 - $0))) }
        }
        return address.isIPv4 ? bytes(address.lo, 4) : bytes(address.hi, 8) + bytes(address.lo, 8)
    }

    /// Protocols whose ports (or ICMP type and code) are part of the hash.
    static let portProtocols: Set<UInt8> = [1, 6, 17, 58, 132]

    private static let icmpCounterparts: [UInt8: UInt8] = [
        8: 0, 0: 8,  // echo
        13: 14, 14: 13,  // timestamp
        15: 16, 16: 15,  // information
        10: 9, 9: 10,  // router solicitation, advertisement
        17: 18, 18: 17,  // address mask
    ]

    private static let icmp6Counterparts: [UInt8: UInt8] = [
        128: 129, 129: 128,  // echo
        130: 131, 131: 130,  // multicast listener query, report
        133: 134, 134: 133,  // router solicitation, advertisement
        135: 136, 136: 135,  // neighbor solicitation, advertisement
        139: 140, 140: 139,  // node information query, reply
        144: 145, 145: 144,  // home agent address discovery request, reply
    ]
}

extension FlowKey {
    /// The Community ID v1 (seed 0) of this flow; nil when the addresses are not IP addresses.
    public var communityID: String? { CommunityID.v1(self) }
}
