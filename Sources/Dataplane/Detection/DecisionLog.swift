import CDPDK

/// The normalised score of each reason for one packet (index = reason bit), kept so a mirror
/// decision can be explained reason by reason. Floats: 32 bytes.
public struct SubScores: Sendable {
    public var values: (Float, Float, Float, Float, Float, Float, Float, Float) = (0, 0, 0, 0, 0, 0, 0, 0)

    public init() {}

    @inline(__always) public subscript(bit: Int) -> Float {
        get { element(values, bit, Float.self) }
        set { withElement(&values, bit, Float.self) { $0 = newValue } }
    }

    /// Keeps the larger of the present and `x` for `reason` (a single-bit reason).
    @inline(__always) public mutating func note(_ x: Double, _ reason: Reason) {
        let bit = reason.rawValue.trailingZeroBitCount
        let f = Float(x)
        if f > self[bit] { self[bit] = f }
    }
}

/// Why one packet was mirrored, as `bmad replay --decisions` writes it.
public struct DecisionRecord: Sendable {
    public static let trigger: UInt8 = 1, anomalous: UInt8 = 2, sticky: UInt8 = 4, preTrigger: UInt8 = 8, forced: UInt8 = 16

    public var tsNs: UInt64 = 0
    public var srcHi: UInt64 = 0, srcLo: UInt64 = 0, dstHi: UInt64 = 0, dstLo: UInt64 = 0
    /// The DNS name the destination was reached by (bma_dns_name_hash), 0 when none.
    public var name: UInt64 = 0
    public var srcMAC: UInt64 = 0, dstMAC: UInt64 = 0
    public var scores = SubScores()
    public var score: Float = 0
    public var threshold: Float = 0
    public var reasons: UInt32 = 0
    public var vm: UInt16 = 0
    public var srcPort: UInt16 = 0, dstPort: UInt16 = 0
    public var ethertype: UInt16 = 0
    public var proto: UInt8 = 0
    public var l3: UInt8 = 0
    public var housekeeping: UInt8 = 0
    public var kind: UInt8 = 0

    public init() {}

    /// The packet fields of a record, from its descriptor.
    @inline(__always) public init(_ p: UnsafePointer<bma_pkt_t>, vm: Int, at t: UInt64) {
        tsNs = t
        srcHi = p.pointee.src_ip_hi; srcLo = p.pointee.src_ip_lo
        dstHi = p.pointee.dst_ip_hi; dstLo = p.pointee.dst_ip_lo
        srcMAC = p.pointee.src_mac; dstMAC = p.pointee.dst_mac
        srcPort = p.pointee.src_port; dstPort = p.pointee.dst_port
        ethertype = p.pointee.ethertype
        proto = p.pointee.ip_proto
        l3 = p.pointee.l3
        housekeeping = p.pointee.housekeeping
        self.vm = UInt16(truncatingIfNeeded: vm)
    }
}

/// A single-producer, single-consumer ring of decision records: the worker appends (only when
/// decisions are asked for: replay's --decisions), the main thread drains. Lossless when asked:
/// a full ring makes the worker wait for the reader (replay only, where time is capture time
/// and waiting changes no decision); otherwise a full ring drops and counts the record.
/// head: worker writes, reader reads. tail: reader writes, worker reads. Fixed memory. A struct
/// of pointers, so the worker's copy costs no reference counting; `DecisionLog` owns the memory.
public struct DecisionRing {
    let records: UnsafeMutablePointer<DecisionRecord>
    let head: UnsafeMutablePointer<UInt64>
    let tail: UnsafeMutablePointer<UInt64>
    /// Records dropped on a full ring (worker writes, reader reads).
    let dropped: UnsafeMutablePointer<UInt64>
    public let capacity: Int
    public let lossless: Bool

    /// Worker side.
    @inline(__always) public func append(_ r: DecisionRecord) {
        let h = head.pointee
        while h &- bma_load_acquire_u64(tail) >= UInt64(capacity) {
            if !lossless || bma_stop_requested() != 0 {
                bma_store_u64(dropped, dropped.pointee &+ 1)
                return
            }
        }
        records[Int(h & UInt64(capacity - 1))] = r
        bma_store_release_u64(head, h &+ 1)
    }
}

/// Owns a decision ring and drains it (reader side).
public final class DecisionLog: @unchecked Sendable {
    public let ring: DecisionRing

    public init(capacity: Int = 1 << 16, lossless: Bool) {
        var c = 1
        while c < capacity { c <<= 1 }
        let records = UnsafeMutablePointer<DecisionRecord>.allocate(capacity: c)
        records.initialize(repeating: DecisionRecord(), count: c)
        let words = UnsafeMutablePointer<UInt64>.allocate(capacity: 3)
        words.initialize(repeating: 0, count: 3)
        ring = DecisionRing(records: records, head: words, tail: words + 1, dropped: words + 2, capacity: c, lossless: lossless)
    }

    deinit {
        ring.records.deallocate()
        ring.head.deallocate()
    }

    public var capacity: Int { ring.capacity }
    public var droppedRecords: UInt64 { bma_load_u64(ring.dropped) }

    /// Worker side (tests; the worker appends through its copy of `ring`).
    public func append(_ r: DecisionRecord) { ring.append(r) }

    /// Reader side: hands every record appended so far to `body`, oldest first.
    public func drain(_ body: (DecisionRecord) -> Void) {
        let h = bma_load_acquire_u64(ring.head)
        var t = ring.tail.pointee
        while t != h {
            body(ring.records[Int(t & UInt64(ring.capacity - 1))])
            t &+= 1
        }
        bma_store_release_u64(ring.tail, t)
    }
}

extension DecisionRing {
    /// Records a mirrored packet with its verdict.
    @inline(__always)
    func append(_ p: UnsafePointer<bma_pkt_t>, vm: Int, at t: UInt64, _ v: Verdict, forced: Bool, name: UInt64) {
        var r = DecisionRecord(p, vm: vm, at: t)
        r.fill(v)
        r.name = name
        if v.anomalous { r.kind |= DecisionRecord.anomalous | (v.trigger ? DecisionRecord.trigger : 0) }
        else if v.sticky { r.kind |= DecisionRecord.sticky }
        if forced { r.kind |= DecisionRecord.forced }
        append(r)
    }

    /// Records a pre-trigger copy: its fields are parsed again from the held frame (replay only).
    func appendPreTrigger(_ m: OpaquePointer?, vm: Int, at t: UInt64, _ trigger: Verdict) {
        var pkt = bma_pkt_t()
        bma_mbuf_parse(m, &pkt)
        var r = withUnsafePointer(to: &pkt) { DecisionRecord($0, vm: vm, at: t) }
        r.reasons = trigger.reasons.rawValue
        r.threshold = Float(trigger.threshold)
        r.kind = DecisionRecord.preTrigger
        append(r)
    }
}

extension DecisionRecord {
    @inline(__always) mutating func fill(_ v: Verdict) {
        scores = v.scores
        score = Float(v.score)
        threshold = Float(v.threshold)
        reasons = v.reasons.rawValue
    }
}
