/// One captured packet.
public struct PcapRecord: Sendable, Equatable {
    /// Capture time in nanoseconds since the Unix epoch.
    public var timestampNanoseconds: UInt64
    /// The captured bytes (at most the snap length).
    public var data: [UInt8]
    /// Length of the packet on the wire; at least `data.count` in well-formed files.
    public var originalLength: UInt32

    public init(timestampNanoseconds: UInt64, data: [UInt8], originalLength: UInt32? = nil) {
        self.timestampNanoseconds = timestampNanoseconds
        self.data = data
        self.originalLength = originalLength ?? UInt32(clamping: data.count)
    }
}
