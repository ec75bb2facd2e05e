import CDPDK

/// A VM's learned baseline as a self-contained document (baseline.export/import, the state
/// directory). 64-bit values travel as hexadecimal strings so no JSON reader rounds them.
/// It holds what was learned only: sensitivities are settings (configuration and run-time
/// overrides), and the `sensitivity` member older bmads wrote is ignored.
public struct BaselineDocument: Codable, Sendable, Equatable {
    public struct Service: Codable, Sendable, Equatable {
        public var key: String
        public var packets: UInt64
        public var peak: Double
        public var peak_at: String
        public var rate: Double
        public var rate_at: String
        public var size_weight: Double
        public var size_sum: Double
        public var size_squares: Double
        public var size_at: String
        public var last_seen: String
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var k0: String
        public var k1: String
        public var packets: UInt64
        public var last_seen: String
        /// A host learned by DNS name (k0 fffd...): the name as text, when bmad kept it.
        public var name: String? = nil
    }

    public var format = 1
    public var first_seen: String
    public var learned_packets: UInt64
    public var frozen: Bool
    public var peak10: Double
    public var size_weight: Double
    public var size_sum: Double
    public var size_squares: Double
    public var size_at: String
    public var size_histogram: [UInt64]
    public var class_packets: [UInt64]
    public var class_peaks: [Double]
    public var services: [Service]
    public var hosts: [Entry]
    public var destinations: [Entry]
    /// What the detector learned besides the tables (absent in older documents): known prefixes,
    /// novelties on their way to habits, the score histogram of the calibrated threshold.
    public var context: ContextDocument?
}

/// Errors reading a baseline document.
public struct BaselineDocumentError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

extension BaselineDocument {
    static func hex(_ v: UInt64) -> String { String(v, radix: 16) }

    static func value(_ s: String, _ field: String) throws(BaselineDocumentError) -> UInt64 {
        guard let v = UInt64(s, radix: 16) else { throw BaselineDocumentError(description: "\(field): '\(s)' is not a hexadecimal 64-bit value") }
        return v
    }

    /// Describes `d`'s baseline.
    public init(_ d: Detector) {
        let b = d.baseline
        var services: [Service] = []
        b.services.forEach { s in
            let v = s.value
            services.append(Service(key: Self.hex(s.k0), packets: v.packets, peak: v.peak, peak_at: Self.hex(v.peakAt), rate: v.rate.value,
                                    rate_at: Self.hex(v.rate.lastNs), size_weight: v.size.weight, size_sum: v.size.sum,
                                    size_squares: v.size.squares, size_at: Self.hex(v.size.lastNs), last_seen: Self.hex(s.lastNs)))
        }
        var hosts: [Entry] = []
        b.hosts.forEach { s in
            let name = s.k0 == DestinationKey.nameTag ? d.context.texts.text(s.k1) : nil
            hosts.append(Entry(k0: Self.hex(s.k0), k1: Self.hex(s.k1), packets: s.value.packets, last_seen: Self.hex(s.lastNs), name: name))
        }
        var dests: [Entry] = []
        b.destinations.forEach { dests.append(Entry(k0: Self.hex($0.k0), k1: Self.hex($0.k1), packets: $0.value.packets, last_seen: Self.hex($0.lastNs))) }
        self.init(first_seen: Self.hex(b.firstNs), learned_packets: b.learnedPackets, frozen: b.frozen,
                  peak10: b.peak10, size_weight: b.size.weight, size_sum: b.size.sum,
                  size_squares: b.size.squares, size_at: Self.hex(b.size.lastNs),
                  size_histogram: (0..<8).map { element(b.sizeHistogram, $0, UInt64.self) },
                  class_packets: (0..<5).map { element(b.classPackets, $0, UInt64.self) },
                  class_peaks: (0..<5).map { element(b.classPeaks, $0, Double.self) },
                  services: services, hosts: hosts, destinations: dests, context: ContextDocument(d.context))
    }

    /// Fills `d` (whose tables are empty or to be replaced) from the document.
    public func restore(into d: inout Detector) throws(BaselineDocumentError) {
        guard format == 1 else { throw BaselineDocumentError(description: "format: \(format) is not a baseline format this bmad reads (1)") }
        guard size_histogram.count == 8, class_packets.count == 5, class_peaks.count == 5 else {
            throw BaselineDocumentError(description: "size_histogram/class_packets/class_peaks: wrong length")
        }
        let values = [peak10, size_weight, size_sum, size_squares] + class_peaks
        guard values.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw BaselineDocumentError(description: "a statistic is negative or not finite") }
        var b = Baseline()
        defer { b.deallocate() }
        b.firstNs = try Self.value(first_seen, "first_seen")
        b.learnedPackets = learned_packets
        b.frozen = frozen
        b.peak10 = peak10
        b.size = DampedStats(weight: size_weight, sum: size_sum, squares: size_squares, lastNs: try Self.value(size_at, "size_at"))
        for i in 0..<8 { withElement(&b.sizeHistogram, i, UInt64.self) { $0 = size_histogram[i] } }
        for i in 0..<5 {
            withElement(&b.classPackets, i, UInt64.self) { $0 = class_packets[i] }
            withElement(&b.classPeaks, i, Double.self) { $0 = class_peaks[i] }
        }
        var inserted = false
        for (i, s) in services.enumerated() {
            let at = try Self.value(s.last_seen, "services[\(i)].last_seen")
            let slot = b.services.findOrInsert(try Self.value(s.key, "services[\(i)].key"), 0, at: at, empty: Baseline.Service(), inserted: &inserted)
            slot.pointee.lastNs = at
            slot.pointee.value.packets = s.packets
            slot.pointee.value.peak = s.peak
            slot.pointee.value.peakAt = try Self.value(s.peak_at, "services[\(i)].peak_at")
            slot.pointee.value.rate = RateMeter(value: s.rate, lastNs: try Self.value(s.rate_at, "services[\(i)].rate_at"))
            slot.pointee.value.rate.startNs = slot.pointee.value.rate.lastNs
            slot.pointee.value.size = DampedStats(weight: s.size_weight, sum: s.size_sum, squares: s.size_squares,
                                                  lastNs: try Self.value(s.size_at, "services[\(i)].size_at"))
        }
        for (i, h) in hosts.enumerated() {
            let at = try Self.value(h.last_seen, "hosts[\(i)].last_seen")
            let slot = b.hosts.findOrInsert(try Self.value(h.k0, "hosts[\(i)].k0"), try Self.value(h.k1, "hosts[\(i)].k1"), at: at, empty: Baseline.Host(), inserted: &inserted)
            slot.pointee.lastNs = at
            slot.pointee.value.packets = h.packets
        }
        for (i, e) in destinations.enumerated() {
            let at = try Self.value(e.last_seen, "destinations[\(i)].last_seen")
            let slot = b.destinations.findOrInsert(try Self.value(e.k0, "destinations[\(i)].k0"), try Self.value(e.k1, "destinations[\(i)].k1"), at: at, empty: Baseline.Destination(), inserted: &inserted)
            slot.pointee.lastNs = at
            slot.pointee.value.packets = e.packets
        }
        d.baseline.copyContents(of: b)
        d.shortTerm.reset()
        try context?.restore(into: &d.context)
        try restoreNames(into: &d)
    }

    /// Keeps the texts of the hosts learned by name (as if answered at their last sighting, with
    /// a TTL that has run out: the baseline's knowing them keeps them).
    func restoreNames(into d: inout Detector) throws(BaselineDocumentError) {
        d.context.texts.reset()
        for (i, h) in hosts.enumerated() {
            guard let name = h.name else { continue }
            let k0 = try Self.value(h.k0, "hosts[\(i)].k0")
            guard k0 == DestinationKey.nameTag else { throw BaselineDocumentError(description: "hosts[\(i)].name: only a host learned by name (k0 \(Self.hex(DestinationKey.nameTag))) has one") }
            guard NameTexts.isText(name) else {
                throw BaselineDocumentError(description: "hosts[\(i)].name: not a DNS name as text (at most \(BMA_DNS_NAME_MAX) printable ASCII characters, no quote or backslash)")
            }
            let hash = try Self.value(h.k1, "hosts[\(i)].k1")
            let at = try Self.value(h.last_seen, "hosts[\(i)].last_seen")
            let bytes = Array(name.utf8) + [0] // never empty: the root's text is ""
            bytes.withUnsafeBufferPointer { p in
                d.context.texts.record(hash, text: p.baseAddress!, length: p.count - 1, expiresNs: 0, at: at, hosts: d.baseline.hosts)
            }
        }
    }
}

extension RateMeter {
    init(value: Double, lastNs: UInt64) {
        self.init()
        self.value = value
        self.lastNs = lastNs
    }
}

extension DampedStats {
    init(weight: Double, sum: Double, squares: Double, lastNs: UInt64) {
        self.init()
        self.weight = weight
        self.sum = sum
        self.squares = squares
        self.lastNs = lastNs
    }
}
