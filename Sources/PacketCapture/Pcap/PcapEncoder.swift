/// Serialises a pcap file header and records into bytes, in either byte order and resolution.
public struct PcapEncoder: Sendable {
    public let header: PcapFileHeader

    public init(header: PcapFileHeader = PcapFileHeader()) {
        self.header = header
    }

    public func appendFileHeader(to bytes: inout [UInt8]) {
        let order = header.byteOrder
        order.append(header.resolution.magic, to: &bytes)
        order.append(header.versionMajor, to: &bytes)
        order.append(header.versionMinor, to: &bytes)
        order.append(UInt32(0), to: &bytes)  // thiszone: always UTC
        order.append(UInt32(0), to: &bytes)  // sigfigs: unused
        order.append(header.snapLength, to: &bytes)
        order.append(header.linkType.rawValue, to: &bytes)
    }

    /// Appends one record; data beyond the snap length is cut off, keeping the original length.
    public func appendRecord(_ record: PcapRecord, to bytes: inout [UInt8]) {
        let order = header.byteOrder
        let unit = header.resolution.nanosecondsPerUnit
        let captured = min(record.data.count, Int(header.snapLength))
        let seconds = record.timestampNanoseconds / 1_000_000_000
        let fraction = (record.timestampNanoseconds % 1_000_000_000) / unit
        // pcap seconds are 32 bits: times past 2106 wrap, as in every classic pcap writer.
        order.append(UInt32(truncatingIfNeeded: seconds), to: &bytes)
        order.append(UInt32(fraction), to: &bytes)
        order.append(UInt32(captured), to: &bytes)
        order.append(max(record.originalLength, UInt32(captured)), to: &bytes)
        bytes.append(contentsOf: record.data[..<captured])
    }

    /// A complete file in memory.
    public func encode(_ records: [PcapRecord]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(PcapFormat.fileHeaderLength + records.reduce(0) { $0 + PcapFormat.recordHeaderLength + $1.data.count })
        appendFileHeader(to: &bytes)
        for record in records { appendRecord(record, to: &bytes) }
        return bytes
    }
}
