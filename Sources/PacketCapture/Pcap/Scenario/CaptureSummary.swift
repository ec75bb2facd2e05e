/// Counts over a capture: size, time span, who sends. Used to check a file and to find the
/// victim of a spliced scenario.
public struct CaptureSummary: Sendable {
    public private(set) var recordCount = 0
    public private(set) var firstTimestampNanoseconds: UInt64?
    public private(set) var lastTimestampNanoseconds: UInt64?
    /// Records whose timestamp is earlier than the one before.
    public private(set) var outOfOrderCount = 0
    public private(set) var ipv4Count = 0
    public private(set) var sourceMACCounts: [MACAddress: Int] = [:]
    public private(set) var sourceIPv4Counts: [IPv4Address: Int] = [:]
    /// IPv4 source addresses counted per source MAC.
    public private(set) var sourceIPv4CountsByMAC: [MACAddress: [IPv4Address: Int]] = [:]

    public init(records: [PcapRecord]) {
        var previous: UInt64?
        for record in records {
            recordCount += 1
            let time = record.timestampNanoseconds
            if firstTimestampNanoseconds == nil { firstTimestampNanoseconds = time }
            lastTimestampNanoseconds = time
            if let previous, time < previous { outOfOrderCount += 1 }
            previous = time

            let frame = EthernetFrame(record.data)
            guard let mac = frame.sourceMAC else { continue }
            sourceMACCounts[mac, default: 0] += 1
            guard let ip = frame.ipv4Source else { continue }
            ipv4Count += 1
            sourceIPv4Counts[ip, default: 0] += 1
            sourceIPv4CountsByMAC[mac, default: [:]][ip, default: 0] += 1
        }
    }

    /// From the first to the last record, in file order.
    public var timeSpanNanoseconds: UInt64 {
        guard let first = firstTimestampNanoseconds, let last = lastTimestampNanoseconds, last > first else { return 0 }
        return last - first
    }

    /// The `limit` most frequent source MACs, most frequent first, ties by address.
    public func topSourceMACs(_ limit: Int) -> [(address: MACAddress, count: Int)] {
        Self.top(sourceMACCounts, limit)
    }

    public func topSourceIPv4Addresses(_ limit: Int) -> [(address: IPv4Address, count: Int)] {
        Self.top(sourceIPv4Counts, limit)
    }

    public var mostFrequentSourceMAC: MACAddress? { topSourceMACs(1).first?.address }

    /// The IPv4 source address most often sent from `mac`.
    public func mostFrequentSourceIPv4(from mac: MACAddress) -> IPv4Address? {
        Self.top(sourceIPv4CountsByMAC[mac] ?? [:], 1).first?.address
    }

    private static func top<Address: Comparable>(_ counts: [Address: Int], _ limit: Int) -> [(address: Address, count: Int)] {
        counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .prefix(max(limit, 0))
            .map { (address: $0.key, count: $0.value) }
    }
}
