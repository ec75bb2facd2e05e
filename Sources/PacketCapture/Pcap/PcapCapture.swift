/// A whole capture held in memory: its file header and its records in file order.
public struct PcapCapture: Sendable, Equatable {
    public var header: PcapFileHeader
    public var records: [PcapRecord]

    public init(header: PcapFileHeader, records: [PcapRecord]) {
        self.header = header
        self.records = records
    }

    /// Reads a whole file.
    public static func read(path: String) throws(PcapError) -> PcapCapture {
        var reader = try PcapReader(path: path)
        return PcapCapture(header: reader.header, records: try reader.readAll())
    }

    /// Writes the capture to `path`, replacing any existing file.
    public func write(path: String) throws(PcapError) {
        let writer = try PcapWriter(path: path, header: header)
        for record in records { try writer.write(record) }
        try writer.close()
    }
}
