@testable import PacketCapture

/// Recomputes checksums from scratch, independently of the code under test, to judge rewrites.
enum ChecksumVerifier {
    /// RFC 1071 sum over whole 16-bit words, odd byte padded; not folded into the complement.
    static func onesComplementSum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var sum: UInt32 = 0
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let high = UInt32(bytes[index])
            let low = index + 1 < bytes.endIndex ? UInt32(bytes[index + 1]) : 0
            sum += high << 8 | low
            index += 2
        }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return sum
    }

    /// Offset of the IPv4 header: after the Ethernet header and any 802.1Q/802.1ad tags.
    static func ipOffset(_ frame: [UInt8]) -> Int? {
        var offset = 12
        while offset + 2 <= frame.count {
            let type = UInt16(frame[offset]) << 8 | UInt16(frame[offset + 1])
            if type == 0x0800 { return offset + 2 }
            guard [0x8100, 0x88A8, 0x9100].contains(type) else { return nil }
            offset += 4
        }
        return nil
    }

    /// Whether the IPv4 header checksum is right.
    static func ipHeaderValid(_ frame: [UInt8]) -> Bool? {
        guard let ip = ipOffset(frame), ip + 20 <= frame.count else { return nil }
        let length = Int(frame[ip] & 0x0F) * 4
        guard ip + length <= frame.count else { return nil }
        return onesComplementSum(frame[ip..<ip + length]) == 0xFFFF
    }

    /// Whether the TCP or UDP checksum of an unfragmented, fully captured datagram is right;
    /// nil when it cannot be judged (other protocol, truncated, fragment, UDP without checksum).
    static func transportValid(_ frame: [UInt8]) -> Bool? {
        guard let ip = ipOffset(frame), ip + 20 <= frame.count else { return nil }
        let headerLength = Int(frame[ip] & 0x0F) * 4
        let totalLength = Int(frame[ip + 2]) << 8 | Int(frame[ip + 3])
        let proto = frame[ip + 9]
        let fragmentField = Int(frame[ip + 6]) << 8 | Int(frame[ip + 7])
        guard proto == 6 || proto == 17, fragmentField & 0x3FFF == 0,
              totalLength >= headerLength, ip + totalLength <= frame.count else { return nil }
        let segment = frame[(ip + headerLength)..<(ip + totalLength)]
        if proto == 17, segment.count >= 8, segment[segment.startIndex + 6] == 0, segment[segment.startIndex + 7] == 0 {
            return nil
        }
        var pseudo: [UInt8] = Array(frame[(ip + 12)..<(ip + 20)])
        pseudo += [0, proto, UInt8(segment.count >> 8), UInt8(segment.count & 0xFF)]
        var sum = onesComplementSum(pseudo[...]) + onesComplementSum(segment)
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return sum == 0xFFFF
    }

    /// Whether the ICMP checksum of a fully captured, unfragmented ICMP message is right.
    static func icmpValid(_ frame: [UInt8]) -> Bool? {
        guard let ip = ipOffset(frame), ip + 20 <= frame.count, frame[ip + 9] == 1 else { return nil }
        let headerLength = Int(frame[ip] & 0x0F) * 4
        let totalLength = Int(frame[ip + 2]) << 8 | Int(frame[ip + 3])
        guard totalLength > headerLength, ip + totalLength <= frame.count else { return nil }
        return onesComplementSum(frame[(ip + headerLength)..<(ip + totalLength)]) == 0xFFFF
    }
}
