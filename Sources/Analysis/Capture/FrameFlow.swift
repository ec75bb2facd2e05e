#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The flow of an Ethernet frame: its 5-tuple as a `FlowKey`, with the raw addresses.
///
/// Parses just enough: Ethernet, up to four 802.1Q/802.1ad tags, IPv4 (options skipped; later
/// fragments have no ports) or IPv6 (hop-by-hop, routing, fragment, destination options and AH
/// headers skipped), then TCP, UDP or SCTP ports, or ICMP/ICMPv6 type and code in place of the
/// ports. Other IP protocols get ports 0. Frames that are not IP, or whose IP header is not
/// captured whole, have no flow. Never reads past the captured bytes.
public struct FrameFlow: Sendable, Hashable {
    public var key: FlowKey
    /// 4 or 16 bytes, network order.
    public var sourceAddress: [UInt8]
    public var destinationAddress: [UInt8]

    public init?(frame: [UInt8]) {
        guard let parsed = Self.parse(frame) else { return nil }
        self = parsed
    }

    /// Community ID v1, seed 0.
    public var communityID: String {
        CommunityID.v1(source: sourceAddress, destination: destinationAddress, proto: key.proto,
                       sourcePort: key.srcPort, destinationPort: key.dstPort)
    }

    static let vlanTypes: Set<UInt16> = [0x8100, 0x88A8, 0x9100]
    static let maximumVLANTags = 4
    static let maximumIPv6ExtensionHeaders = 8

    private static func parse(_ bytes: [UInt8]) -> FrameFlow? {
        guard bytes.count >= 14 else { return nil }
        var typeOffset = 12
        var etherType = uint16(bytes, typeOffset)
        var tags = 0
        while vlanTypes.contains(etherType) {
            tags += 1
            typeOffset += 4
            guard tags <= maximumVLANTags, typeOffset + 2 <= bytes.count else { return nil }
            etherType = uint16(bytes, typeOffset)
        }
        let network = typeOffset + 2
        switch etherType {
        case 0x0800: return ipv4(bytes, at: network)
        case 0x86DD: return ipv6(bytes, at: network)
        default: return nil
        }
    }

    private static func ipv4(_ bytes: [UInt8], at offset: Int) -> FrameFlow? {
        guard offset + 20 <= bytes.count, bytes[offset] >> 4 == 4 else { return nil }
        let headerLength = Int(bytes[offset] & 0x0F) * 4
        guard headerLength >= 20, offset + headerLength <= bytes.count else { return nil }
        let proto = bytes[offset + 9]
        let laterFragment = uint16(bytes, offset + 6) & 0x1FFF != 0
        let source = Array(bytes[offset + 12..<offset + 16])
        let destination = Array(bytes[offset + 16..<offset + 20])
        let totalLength = Int(uint16(bytes, offset + 2))
        // The transport header ends with the datagram (Ethernet padding is not part of it).
        let end = totalLength >= headerLength ? min(bytes.count, offset + totalLength) : bytes.count
        let ports = laterFragment ? (0, 0) : transportPorts(bytes, proto: proto, at: offset + headerLength, end: end)
        return make(source, destination, proto, ports)
    }

    private static func ipv6(_ bytes: [UInt8], at offset: Int) -> FrameFlow? {
        guard offset + 40 <= bytes.count, bytes[offset] >> 4 == 6 else { return nil }
        let source = Array(bytes[offset + 8..<offset + 24])
        let destination = Array(bytes[offset + 24..<offset + 40])
        let end = min(bytes.count, offset + 40 + Int(uint16(bytes, offset + 4)))
        var next = bytes[offset + 6]
        var cursor = offset + 40
        var laterFragment = false
        for _ in 0..<maximumIPv6ExtensionHeaders {
            let length: Int
            switch next {
            case 0, 43, 60:  // hop-by-hop, routing, destination options
                guard cursor + 2 <= end else { return make(source, destination, next, (0, 0)) }
                length = (Int(bytes[cursor + 1]) + 1) * 8
            case 44:  // fragment
                guard cursor + 8 <= end else { return make(source, destination, next, (0, 0)) }
                laterFragment = laterFragment || uint16(bytes, cursor + 2) & 0xFFF8 != 0
                length = 8
            case 51:  // authentication header
                guard cursor + 2 <= end else { return make(source, destination, next, (0, 0)) }
                length = (Int(bytes[cursor + 1]) + 2) * 4
            default:
                let ports = laterFragment ? (0, 0) : transportPorts(bytes, proto: next, at: cursor, end: end)
                return make(source, destination, next, ports)
            }
            next = bytes[cursor]
            cursor += length
        }
        return make(source, destination, next, (0, 0))
    }

    /// TCP/UDP/SCTP ports, ICMP type and code; (0, 0) when not captured or not applicable.
    private static func transportPorts(_ bytes: [UInt8], proto: UInt8, at offset: Int, end: Int) -> (UInt16, UInt16) {
        switch proto {
        case 6, 17, 132:
            guard offset + 4 <= end else { return (0, 0) }
            return (uint16(bytes, offset), uint16(bytes, offset + 2))
        case 1, 58:
            guard offset + 2 <= end else { return (0, 0) }
            return (UInt16(bytes[offset]), UInt16(bytes[offset + 1]))
        default:
            return (0, 0)
        }
    }

    private static func make(_ source: [UInt8], _ destination: [UInt8], _ proto: UInt8, _ ports: (UInt16, UInt16)) -> FrameFlow {
        let key = FlowKey(srcIP: IPAddressBytes.text(source), dstIP: IPAddressBytes.text(destination), proto: proto,
                          srcPort: ports.0, dstPort: ports.1)
        return FrameFlow(key: key, sourceAddress: source, destinationAddress: destination)
    }

    private init(key: FlowKey, sourceAddress: [UInt8], destinationAddress: [UInt8]) {
        self.key = key
        self.sourceAddress = sourceAddress
        self.destinationAddress = destinationAddress
    }

    @inline(__always)
    private static func uint16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }
}

/// IP addresses between text and network-order bytes (inet_pton/inet_ntop: RFC 5952 text for
/// IPv6).
enum IPAddressBytes {
    static func text(_ address: [UInt8]) -> String {
        let family = address.count == 16 ? AF_INET6 : AF_INET
        var output = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok = address.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &output, socklen_t(output.count)) != nil
        }
        guard ok, let end = output.firstIndex(of: 0) else { return "" }
        return String(decoding: output[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// 4 bytes for dotted-quad text, 16 for IPv6 text, nil otherwise.
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = [UInt8](repeating: 0, count: 4)
        if text.withCString({ inet_pton(AF_INET, $0, &v4) }) == 1 { return v4 }
        var v6 = [UInt8](repeating: 0, count: 16)
        if text.withCString({ inet_pton(AF_INET6, $0, &v6) }) == 1 { return v6 }
        return nil
    }
}
