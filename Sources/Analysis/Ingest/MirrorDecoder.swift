import BMAContract

/// Decodes the copies bmad mirrors (README "Mirror wire format", Sources/CDPDK/bma_encap.c) into
/// `MirroredPacket`s: Geneve with BMA's metadata option, VXLAN, and ERSPAN type II over GRE.
///
/// Pure functions: no state, no I/O. Every input gives a packet or a `MirrorDecodeError`; nothing
/// traps. The inner frame must hold at least an Ethernet header (`minimumInnerFrameLength`).
public enum MirrorDecoder {
    public static let genevePort = MirrorWire.genevePort
    public static let vxlanPort = MirrorWire.vxlanPort
    /// IP protocol number of GRE.
    public static let greProtocol: UInt8 = 47
    /// Geneve protocol type of an Ethernet payload (Transparent Ethernet Bridging).
    public static let geneveEthernetProtocol: UInt16 = 0x6558
    /// GRE protocol type of ERSPAN type II.
    public static let erspanTypeIIProtocol = MirrorWire.erspanTypeIIProtocol
    /// ERSPAN header version of type II.
    public static let erspanTypeIIVersion: UInt8 = 1
    /// The shortest inner frame accepted: an Ethernet header.
    public static let minimumInnerFrameLength = 14

    static let geneveBaseLength = 8
    static let vxlanHeaderLength = 8
    static let erspanHeaderLength = 8
    static let vxlanFlagI: UInt8 = 0x08
    static let geneveFlagO: UInt8 = 0x80

    static let greFlagChecksum: UInt16 = 0x8000
    static let greFlagRouting: UInt16 = 0x4000
    static let greFlagKey: UInt16 = 0x2000
    static let greFlagSequence: UInt16 = 0x1000
    static let greFlagStrictRoute: UInt16 = 0x0800

    // MARK: Tunnels

    /// A Geneve datagram's UDP payload: version 0, protocol 0x6558, VNI = VM id. BMA's option
    /// (class 0xFFF0, type 0x42, 24 bytes) is read when present, other options are skipped.
    /// `timestampNs` and `originalLength` come from the option when present, else `receivedNs`
    /// and the frame's length.
    public static func decodeGeneve(udpPayload: some Collection<UInt8>, sensor: String,
                                    receivedNs: UInt64) throws(MirrorDecodeError) -> MirroredPacket {
        try MirrorBytes.with(udpPayload) { bytes throws(MirrorDecodeError) in
            try geneve(bytes, Context(sensor: sensor, receivedNs: receivedNs, missing: 0))
        }
    }

    /// A VXLAN datagram's UDP payload: the I flag set, VNI = VM id, no metadata.
    public static func decodeVXLAN(udpPayload: some Collection<UInt8>, sensor: String,
                                   receivedNs: UInt64) throws(MirrorDecodeError) -> MirroredPacket {
        try MirrorBytes.with(udpPayload) { bytes throws(MirrorDecodeError) in
            try vxlan(bytes, Context(sensor: sensor, receivedNs: receivedNs, missing: 0))
        }
    }

    /// A GRE packet (from the GRE header on, after the IP header) carrying ERSPAN type II:
    /// protocol 0x88BE, ERSPAN version 1, session id = VM id. Optional checksum, key and sequence
    /// fields are skipped as the GRE flags say (the checksum is not verified).
    public static func decodeERSPAN(grePacket: some Collection<UInt8>, sensor: String,
                                    receivedNs: UInt64) throws(MirrorDecodeError) -> MirroredPacket {
        try MirrorBytes.with(grePacket) { bytes throws(MirrorDecodeError) in
            try erspan(bytes, Context(sensor: sensor, receivedNs: receivedNs, missing: 0))
        }
    }

    /// What the tunnel decoders need besides the bytes. `missing` counts the bytes of the
    /// datagram that a capture did not keep (an outer frame cut by a snaplen): the inner frame is
    /// then that much longer on the wire than what is present.
    struct Context {
        var sensor: String
        var receivedNs: UInt64
        var missing: Int
    }

    static func geneve(_ bytes: MirrorBytes, _ context: Context) throws(MirrorDecodeError) -> MirroredPacket {
        try bytes.require(geneveBaseLength, .geneve)
        let version = bytes.u8(0) >> 6
        guard version == 0 else { throw .badVersion(layer: .geneve, value: version) }
        let headerLength = geneveBaseLength + Int(bytes.u8(0) & 0x3F) * 4
        try bytes.require(headerLength, .geneve)
        guard bytes.u8(1) & geneveFlagO == 0 else { throw .notMirrorTraffic(.geneveControl) }
        let protocolType = bytes.u16(2)
        guard protocolType == geneveEthernetProtocol else {
            throw .unknownProtocol(layer: .geneve, value: protocolType)
        }
        let vni = bytes.u24(4)

        var metadata: BMAMetadata?
        var tag: MirrorAuthenticationTag?
        var offset = geneveBaseLength
        // offset and headerLength are multiples of 4: every option header (4 bytes) fits.
        while offset < headerLength {
            let optionClass = bytes.u16(offset)
            let type = bytes.u8(offset + 2)
            let dataLength = Int(bytes.u8(offset + 3) & 0x1F) * 4
            let end = offset + 4 + dataLength
            guard end <= headerLength else {
                throw .badOption(optionClass: optionClass, type: type,
                                 problem: .overrunsOptions(optionEnd: end, optionsEnd: headerLength))
            }
            if optionClass == BMAMetadata.optionClass && type == BMAMetadata.optionType {
                guard metadata == nil else {
                    throw .badOption(optionClass: optionClass, type: type, problem: .duplicate)
                }
                guard dataLength == BMAMetadata.length else {
                    throw .badOption(optionClass: optionClass, type: type,
                                     problem: .wrongLength(expected: BMAMetadata.length, actual: dataLength))
                }
                metadata = try bmaMetadata(bytes.slice(offset + 4, end))
            } else if optionClass == BMAMetadata.optionClass && type == MirrorAuthentication.optionType {
                guard tag == nil else { throw .badOption(optionClass: optionClass, type: type, problem: .duplicate) }
                guard dataLength == MirrorAuthentication.dataLength else {
                    throw .badOption(optionClass: optionClass, type: type,
                                     problem: .wrongLength(expected: MirrorAuthentication.dataLength, actual: dataLength))
                }
                let data = bytes.slice(offset + 4, end)
                tag = MirrorAuthenticationTag(keyID: data.u8(0), stream: data.u8(1), sequence: data.u64(4),
                                              mac: data.u64(12), vniWord: bytes.u32(4))
                tag?.reserved = data.u16(2)
            }
            offset = end
        }

        let frame = try innerFrame(bytes, from: headerLength)
        var originalLength = UInt32(clamping: frame.count + context.missing)
        if let metadata {
            // bmad sets the truncated flag whenever the copy is shorter than the original: without
            // it, a shorter frame means the datagram itself was cut on the way.
            let longest = metadata.flags.contains(.truncated) ? Int(UInt32.max) : frame.count + context.missing
            let allowed = frame.count...max(frame.count, longest)
            guard allowed.contains(Int(metadata.originalLength)) else {
                throw .badLength(layer: .bmaMetadata, declared: Int(metadata.originalLength), allowed: allowed)
            }
            originalLength = metadata.originalLength
        }
        var packet = MirroredPacket(
            receivedNs: context.receivedNs, timestampNs: metadata?.timestampNs ?? context.receivedNs,
            sensor: context.sensor, vmID: vni, encapsulation: .geneve, metadata: metadata,
            frame: frame, originalLength: originalLength)
        packet.authentication = tag
        return packet
    }

    /// The 24 data bytes of BMA's option.
    static func bmaMetadata(_ data: MirrorBytes) throws(MirrorDecodeError) -> BMAMetadata {
        try data.require(BMAMetadata.length, .bmaMetadata)
        let version = data.u8(0)
        guard version == BMAMetadata.version else { throw .badVersion(layer: .bmaMetadata, value: version) }
        return BMAMetadata(
            version: version, flags: .init(rawValue: data.u8(1)), policyID: data.u16(2),
            reasons: .init(rawValue: data.u32(4)), scoreMilli: data.u32(8),
            originalLength: data.u32(12), timestampNs: data.u64(16))
    }

    static func vxlan(_ bytes: MirrorBytes, _ context: Context) throws(MirrorDecodeError) -> MirroredPacket {
        try bytes.require(vxlanHeaderLength, .vxlan)
        let flags = bytes.u8(0)
        guard flags & vxlanFlagI != 0 else { throw .badFlags(layer: .vxlan, value: UInt16(flags)) }
        let vni = bytes.u24(4)
        let frame = try innerFrame(bytes, from: vxlanHeaderLength)
        return MirroredPacket(
            receivedNs: context.receivedNs, timestampNs: context.receivedNs, sensor: context.sensor,
            vmID: vni, encapsulation: .vxlan, metadata: nil, frame: frame,
            originalLength: UInt32(clamping: frame.count + context.missing))
    }

    static func erspan(_ bytes: MirrorBytes, _ context: Context) throws(MirrorDecodeError) -> MirroredPacket {
        try bytes.require(4, .gre)
        let flags = bytes.u16(0)
        let version = UInt8(flags & 0x7)
        guard version == 0 else { throw .badVersion(layer: .gre, value: version) }
        // Source routing (RFC 1701) has a variable-length routing field: not supported.
        guard flags & (greFlagRouting | greFlagStrictRoute) == 0 else { throw .badFlags(layer: .gre, value: flags) }
        let protocolType = bytes.u16(2)
        guard protocolType == erspanTypeIIProtocol else { throw .unknownProtocol(layer: .gre, value: protocolType) }
        var greLength = 4
        for flag in [greFlagChecksum, greFlagKey, greFlagSequence] where flags & flag != 0 {
            greLength += 4
        }
        try bytes.require(greLength, .gre)

        let header = bytes.suffix(from: greLength)
        try header.require(erspanHeaderLength, .erspan)
        let erspanVersion = header.u8(0) >> 4
        guard erspanVersion == erspanTypeIIVersion else { throw .badVersion(layer: .erspan, value: erspanVersion) }
        // COS (3) | En (2) | T (1) | session id (10)
        let session = UInt32(header.u16(2) & 0x3FF)
        let frame = try innerFrame(header, from: erspanHeaderLength)
        // The T bit says the copy was truncated, but not from what length: the frame's length is
        // all that is known.
        return MirroredPacket(
            receivedNs: context.receivedNs, timestampNs: context.receivedNs, sensor: context.sensor,
            vmID: session, encapsulation: .erspan2, metadata: nil, frame: frame,
            originalLength: UInt32(clamping: frame.count + context.missing))
    }

    static func innerFrame(_ bytes: MirrorBytes, from start: Int) throws(MirrorDecodeError) -> [UInt8] {
        let inner = bytes.suffix(from: start)
        try inner.require(minimumInnerFrameLength, .innerFrame)
        return inner.array(from: 0)
    }
}
