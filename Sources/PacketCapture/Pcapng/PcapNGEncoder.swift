/// One pcapng option: a code and its value (padding is added when it is encoded).
public struct PcapNGOption: Sendable, Equatable {
    public var code: UInt16
    public var value: [UInt8]

    public init(code: UInt16, value: [UInt8]) {
        self.code = code
        self.value = value
    }

    public init(code: UInt16, text: String) {
        self.init(code: code, value: Array(text.utf8))
    }
}

/// Serialises pcapng blocks in either byte order. The writer uses it for every block; tests use
/// it to build files (including broken ones) block by block.
public struct PcapNGEncoder: Sendable {
    public let byteOrder: PcapByteOrder

    public init(byteOrder: PcapByteOrder = .littleEndian) {
        self.byteOrder = byteOrder
    }

    /// A Section Header Block of version 1.0 with an unknown section length (-1).
    public func appendSectionHeader(options: [PcapNGOption], to bytes: inout [UInt8]) {
        appendBlock(type: PcapNGFormat.sectionHeaderBlock, options: options, to: &bytes) { body in
            byteOrder.append(PcapNGFormat.byteOrderMagic, to: &body)
            byteOrder.append(PcapNGFormat.versionMajor, to: &body)
            byteOrder.append(PcapNGFormat.versionMinor, to: &body)
            byteOrder.append(UInt64.max, to: &body)
        }
    }

    public func appendInterfaceDescription(linkType: UInt16, snapLength: UInt32, options: [PcapNGOption], to bytes: inout [UInt8]) {
        appendBlock(type: PcapNGFormat.interfaceDescriptionBlock, options: options, to: &bytes) { body in
            byteOrder.append(linkType, to: &body)
            byteOrder.append(UInt16(0), to: &body)
            byteOrder.append(snapLength, to: &body)
        }
    }

    /// An Enhanced Packet Block; `timestamp` counts units of the interface's if_tsresol.
    public func appendEnhancedPacket(interfaceID: UInt32, timestamp: UInt64, data: ArraySlice<UInt8>, originalLength: UInt32,
                                     options: [PcapNGOption], to bytes: inout [UInt8]) {
        appendBlock(type: PcapNGFormat.enhancedPacketBlock, options: options, to: &bytes) { body in
            byteOrder.append(interfaceID, to: &body)
            byteOrder.append(UInt32(truncatingIfNeeded: timestamp >> 32), to: &body)
            byteOrder.append(UInt32(truncatingIfNeeded: timestamp), to: &body)
            byteOrder.append(UInt32(data.count), to: &body)
            byteOrder.append(originalLength, to: &body)
            body.append(contentsOf: data)
        }
    }

    /// Any block: `fixed` appends the block's fixed fields and data; this pads them, appends the
    /// options (ended by opt_endofopt when there are any) and both lengths.
    public func appendBlock(type: UInt32, options: [PcapNGOption], to bytes: inout [UInt8], fixed: (inout [UInt8]) -> Void) {
        let start = bytes.count
        byteOrder.append(type, to: &bytes)
        byteOrder.append(UInt32(0), to: &bytes)  // filled in below
        fixed(&bytes)
        appendPadding(to: &bytes, blockStart: start)
        if !options.isEmpty {
            for option in options {
                let value = option.value.prefix(Int(UInt16.max))
                byteOrder.append(option.code, to: &bytes)
                byteOrder.append(UInt16(value.count), to: &bytes)
                bytes.append(contentsOf: value)
                appendPadding(to: &bytes, blockStart: start)
            }
            byteOrder.append(PcapNGFormat.optionEndOfOptions, to: &bytes)
            byteOrder.append(UInt16(0), to: &bytes)
        }
        let length = UInt32(bytes.count - start + 4)
        byteOrder.append(length, to: &bytes)
        byteOrder.store(length, in: &bytes, at: start + 4)
    }

    /// Length of an encoded option list (each padded, plus the end marker).
    public static func encodedLength(of options: [PcapNGOption]) -> Int {
        options.isEmpty ? 0 : options.reduce(4) { $0 + 4 + PcapNGFormat.padded(min($1.value.count, Int(UInt16.max))) }
    }

    private func appendPadding(to bytes: inout [UInt8], blockStart: Int) {
        while (bytes.count - blockStart) % 4 != 0 { bytes.append(0) }
    }
}
