/// What BMA keeps about a packet in a pcapng Enhanced Packet Block: its custom binary option
/// (code 2989) and a readable comment (opt_comment).
///
/// Value of option 2989 (after the option's own code and length; padded to 32 bits like every
/// pcapng option):
///
///     offset  size  field
///     0       4     Private Enterprise Number 32473, in the section's byte order (pcapng rule)
///     4       24    BMA metadata, big-endian, exactly the Geneve option layout (README,
///                   "Mirror wire format"): version(1) flags(1) policy id(2) reason bits(4)
///                   score x1000(4) original length(4) timestamp ns(8).
///                   All zero when the packet came without metadata (TLV 4 then says so).
///     28      ...   TLVs, back to back: type(1) length(2, big-endian) value(length)
///                     1  sensor, UTF-8: the host that mirrored the packet (or the imported file)
///                     2  encapsulation, UTF-8: geneve | vxlan | erspan2 | pcap
///                     3  received time, 8 bytes big-endian, ns since 1970 (analyzer wall clock)
///                     4  no metadata, empty: the 24 bytes before the TLVs are not metadata
///                   A reader skips TLV types it does not know, so later versions can add some.
public struct BMAPacketOption: Sendable, Equatable {
    public var metadata: BMAMetadata?
    public var sensor: String
    public var encapsulation: MirroredPacket.Encapsulation
    public var receivedNs: UInt64?

    public init(metadata: BMAMetadata?, sensor: String, encapsulation: MirroredPacket.Encapsulation, receivedNs: UInt64?) {
        self.metadata = metadata
        self.sensor = sensor
        self.encapsulation = encapsulation
        self.receivedNs = receivedNs
    }

    public init(packet: MirroredPacket) {
        self.init(metadata: packet.metadata, sensor: packet.sensor, encapsulation: packet.encapsulation,
                  receivedNs: packet.receivedNs)
    }

    static let tlvSensor: UInt8 = 1
    static let tlvEncapsulation: UInt8 = 2
    static let tlvReceived: UInt8 = 3
    static let tlvNoMetadata: UInt8 = 4
    /// Longest sensor kept, in UTF-8 bytes (a file path can be long; an option value cannot).
    public static let maximumSensorBytes = 1024

    /// The option value after the PEN.
    public func encodedPayload() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(BMAMetadata.length + 32 + sensor.utf8.count)
        if let metadata {
            bytes.append(metadata.version)
            bytes.append(metadata.flags.rawValue)
            BigEndianBytes.append(metadata.policyID, to: &bytes)
            BigEndianBytes.append(metadata.reasons.rawValue, to: &bytes)
            BigEndianBytes.append(metadata.scoreMilli, to: &bytes)
            BigEndianBytes.append(metadata.originalLength, to: &bytes)
            BigEndianBytes.append(metadata.timestampNs, to: &bytes)
        } else {
            bytes.append(contentsOf: repeatElement(0, count: BMAMetadata.length))
        }
        Self.appendTLV(Self.tlvSensor, Array(Self.utf8Prefix(sensor, maximumBytes: Self.maximumSensorBytes)), to: &bytes)
        Self.appendTLV(Self.tlvEncapsulation, Array(encapsulation.rawValue.utf8), to: &bytes)
        if let receivedNs {
            var value: [UInt8] = []
            BigEndianBytes.append(receivedNs, to: &value)
            Self.appendTLV(Self.tlvReceived, value, to: &bytes)
        }
        if metadata == nil { Self.appendTLV(Self.tlvNoMetadata, [], to: &bytes) }
        return bytes
    }

    /// Decodes the value after the PEN; `blockOffset` only names the block in errors.
    public init(payload: ArraySlice<UInt8>, blockOffset: Int) throws(PcapNGError) {
        let start = payload.startIndex
        guard payload.count >= BMAMetadata.length else {
            throw .badBMAOption(offset: blockOffset, reason: "\(payload.count) bytes, the metadata alone needs \(BMAMetadata.length)")
        }
        var sensor: String?
        var encapsulation: MirroredPacket.Encapsulation?
        var received: UInt64?
        var hasMetadata = true
        var cursor = start + BMAMetadata.length
        while cursor < payload.endIndex {
            guard payload.endIndex - cursor >= 3 else {
                throw .badBMAOption(offset: blockOffset, reason: "a TLV header is cut short")
            }
            let type = payload[cursor]
            let length = Int(BigEndianBytes.read(payload, at: cursor + 1, width: 2))
            let valueStart = cursor + 3
            guard length <= payload.endIndex - valueStart else {
                throw .badBMAOption(offset: blockOffset, reason: "TLV \(type) claims \(length) bytes past the option's end")
            }
            let value = payload[valueStart..<valueStart + length]
            switch type {
            case Self.tlvSensor:
                sensor = String(decoding: value, as: UTF8.self)
            case Self.tlvEncapsulation:
                let name = String(decoding: value, as: UTF8.self)
                guard let known = MirroredPacket.Encapsulation(rawValue: name) else {
                    throw .badBMAOption(offset: blockOffset, reason: "unknown encapsulation '\(name)'")
                }
                encapsulation = known
            case Self.tlvReceived:
                guard length == 8 else { throw .badBMAOption(offset: blockOffset, reason: "received time of \(length) bytes, not 8") }
                received = BigEndianBytes.read(value, at: valueStart, width: 8)
            case Self.tlvNoMetadata:
                hasMetadata = false
            default:
                break  // a later version's field
            }
            cursor = valueStart + length
        }
        if hasMetadata {
            metadata = BMAMetadata(
                version: payload[start],
                flags: BMAMetadata.Flags(rawValue: payload[start + 1]),
                policyID: UInt16(BigEndianBytes.read(payload, at: start + 2, width: 2)),
                reasons: BMAMetadata.Reasons(rawValue: UInt32(BigEndianBytes.read(payload, at: start + 4, width: 4))),
                scoreMilli: UInt32(BigEndianBytes.read(payload, at: start + 8, width: 4)),
                originalLength: UInt32(BigEndianBytes.read(payload, at: start + 12, width: 4)),
                timestampNs: BigEndianBytes.read(payload, at: start + 16, width: 8))
        } else {
            metadata = nil
        }
        self.sensor = sensor ?? ""
        self.encapsulation = encapsulation ?? .pcap
        self.receivedNs = received
    }

    private static func appendTLV(_ type: UInt8, _ value: [UInt8], to bytes: inout [UInt8]) {
        bytes.append(type)
        BigEndianBytes.append(UInt16(value.count), to: &bytes)
        bytes.append(contentsOf: value)
    }

    /// The longest prefix of `text` whose UTF-8 fits in `maximumBytes`, cut between characters.
    static func utf8Prefix(_ text: String, maximumBytes: Int) -> Substring.UTF8View {
        if text.utf8.count <= maximumBytes { return Substring(text).utf8 }
        var end = text.startIndex
        var used = 0
        for index in text.indices {
            let next = text.index(after: index)
            let width = text.utf8.distance(from: index, to: next)
            if used + width > maximumBytes { break }
            used += width
            end = next
        }
        return text[..<end].utf8
    }

    // MARK: Comment

    /// The readable line written as the packet's opt_comment, e.g.
    /// `bma vm=7 sensor=192.0.2.1 reasons=new-service,port-scan score=1.500 policy=0 flags=sticky,truncated encap=geneve`.
    /// Reasons are in bit order (lowest first); `none` stands for an empty list. Packets without
    /// metadata have only vm, sensor and encap.
    public static func comment(for packet: MirroredPacket) -> String {
        var line = "bma vm=\(packet.vmID) sensor=\(String(utf8Prefix(packet.sensor, maximumBytes: maximumSensorBytes)) ?? "")"
        if let metadata = packet.metadata {
            let reasons = metadata.reasons.names
            let flags = metadata.flags.names
            line += " reasons=" + (reasons.isEmpty ? "none" : reasons.joined(separator: ","))
            line += " score=" + formatMilli(metadata.scoreMilli)
            line += " policy=\(metadata.policyID)"
            line += " flags=" + (flags.isEmpty ? "none" : flags.joined(separator: ","))
        }
        line += " encap=\(packet.encapsulation.rawValue)"
        return line
    }

    /// 1500 -> "1.500".
    static func formatMilli(_ milli: UInt32) -> String {
        let fraction = String(milli % 1000)
        return "\(milli / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
