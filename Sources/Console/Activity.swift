import Analysis
import BMAContract

/// What the store holds for a time range, per VM, in `bucketCount` equal time buckets: the
/// mirrored packets, why bmad mirrored them (the reasons and flags of its Geneve metadata) and
/// where they went. One pass over the packets of the range.
public struct Activity: Sendable {
    public struct VM: Sendable {
        public var id: UInt32
        public var packets = 0
        public var bytes: UInt64 = 0
        public var firstNs: UInt64 = .max
        public var lastNs: UInt64 = 0
        public var perBucket: [Int]
        /// Packets per reason, and per reason and bucket.
        public var reasons: [String: Int] = [:]
        public var reasonBuckets: [String: [Int]] = [:]
        public var flags: [String: Int] = [:]
        /// Copies that carried no BMA metadata (VXLAN, ERSPAN, imported raw frames).
        public var withoutMetadata = 0
        /// Scores in steps of 0.5 (the last step: 5 and more).
        public var scores: [Int] = Array(repeating: 0, count: 11)
        /// Packets per destination ("203.0.113.7 tcp/443").
        public var destinations: [String: Int] = [:]
        public var sensors: Set<String> = []

        init(id: UInt32, buckets: Int) {
            self.id = id
            perBucket = Array(repeating: 0, count: buckets)
        }
    }

    public var range: TimeRange
    public var bucketCount: Int
    public var vms: [UInt32: VM] = [:]
    /// The packet limit cut the range short: the counts are of its first packets only.
    public var truncated = false

    public var bucketNs: UInt64 { max(1, (range.until - range.since) / UInt64(bucketCount) + 1) }

    public init(range: TimeRange, bucketCount: Int = 60) {
        self.range = range
        self.bucketCount = max(1, bucketCount)
    }

    /// Reads the packets of `vm` (nil: all) in `range` from `store`; `also` sees each packet too
    /// (the VM page measures TCP performance in the same pass).
    public static func read(_ store: ConsoleStore, range: TimeRange, vm: UInt32? = nil, buckets: Int = 60,
                            also: (MirroredPacket) -> Void = { _ in }) throws -> Activity {
        var activity = Activity(range: range, bucketCount: buckets)
        activity.truncated = try store.forEachPacket(vm: vm, in: range) { packet in
            activity.add(packet)
            also(packet)
        }
        return activity
    }

    mutating func add(_ p: MirroredPacket) {
        let bucket = p.timestampNs < range.since ? 0 : min(bucketCount - 1, Int((p.timestampNs - range.since) / bucketNs))
        var vm = vms[p.vmID] ?? VM(id: p.vmID, buckets: bucketCount)
        vm.packets += 1
        vm.bytes += UInt64(p.originalLength)
        vm.firstNs = min(vm.firstNs, p.timestampNs)
        vm.lastNs = max(vm.lastNs, p.timestampNs)
        vm.perBucket[bucket] += 1
        if vm.sensors.count < 16 { vm.sensors.insert(p.sensor) }
        if let m = p.metadata {
            for name in m.reasons.names {
                vm.reasons[name, default: 0] += 1
                vm.reasonBuckets[name, default: Array(repeating: 0, count: bucketCount)][bucket] += 1
            }
            for name in m.flags.names { vm.flags[name, default: 0] += 1 }
            vm.scores[min(10, Int(m.score * 2))] += 1
        } else {
            vm.withoutMetadata += 1
        }
        if let key = PacketView(packet: p).flowKey {
            let service = key.proto == 6 || key.proto == 17 ? "\(key.protoName.lowercased())/\(key.dstPort)" : key.protoName.lowercased()
            let name = "\(key.dstIP) \(service)"
            // Bounded: a scan of thousands of ports must not grow the page without limit.
            if vm.destinations[name] != nil || vm.destinations.count < 4096 { vm.destinations[name, default: 0] += 1 }
        }
        vms[p.vmID] = vm
    }

    // MARK: Fleet totals

    public var packets: Int { vms.values.reduce(0) { $0 + $1.packets } }

    public var perBucket: [Int] {
        vms.values.reduce(into: Array(repeating: 0, count: bucketCount)) { sum, vm in
            for i in 0..<bucketCount { sum[i] += vm.perBucket[i] }
        }
    }

    public var reasons: [String: Int] {
        vms.values.reduce(into: [:]) { sum, vm in for (k, v) in vm.reasons { sum[k, default: 0] += v } }
    }

    /// Bucket start times (ns).
    public var bucketStarts: [UInt64] { (0..<bucketCount).map { range.since + UInt64($0) * bucketNs } }
}
