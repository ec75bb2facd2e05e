/// A bounded hash table in unsafe memory, allocated once: keys are two 64-bit words, probing is
/// limited to a few slots, and a full neighbourhood evicts its least recently seen entry. Memory
/// is fixed at creation; nothing allocates afterwards.
public struct FixedTable<Value> {
    public struct Slot {
        public var k0: UInt64
        public var k1: UInt64
        public var lastNs: UInt64
        public var used: Bool
        public var value: Value

        /// Whether the slot holds this key.
        @inline(__always) func holds(_ a: UInt64, _ b: UInt64) -> Bool { used && k0 == a && k1 == b }
    }

    let slots: UnsafeMutablePointer<Slot>
    public let capacity: Int
    let mask: Int
    static var probes: Int { 8 }
    public private(set) var count = 0
    public private(set) var evictions: UInt64 = 0

    /// `capacity` is rounded up to a power of two.
    public init(capacity: Int, empty: Value) {
        var c = 8
        while c < capacity { c <<= 1 }
        self.capacity = c
        mask = c - 1
        slots = .allocate(capacity: c)
        slots.initialize(repeating: Slot(k0: 0, k1: 0, lastNs: 0, used: false, value: empty), count: c)
    }

    public func deallocate() { slots.deallocate() }

    @inline(__always) static func hash(_ k0: UInt64, _ k1: UInt64) -> Int {
        var h = k0 &* 0x9E37_79B9_7F4A_7C15 ^ k1
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    /// The slot holding the key, or nil.
    @inline(__always) public func find(_ k0: UInt64, _ k1: UInt64) -> UnsafeMutablePointer<Slot>? {
        var i = FixedTable.hash(k0, k1) & mask
        for _ in 0..<FixedTable.probes {
            let s = slots + i
            if s.pointee.used && s.pointee.k0 == k0 && s.pointee.k1 == k1 { return s }
            i = (i &+ 1) & mask
        }
        return nil
    }

    /// The slot for the key: existing, a free one, or the least recently seen neighbour (evicted).
    /// `inserted` tells whether the slot is new for this key (its value is then `empty`).
    @inline(__always) public mutating func findOrInsert(_ k0: UInt64, _ k1: UInt64, at nowNs: UInt64, empty: Value,
                                                        inserted: inout Bool) -> UnsafeMutablePointer<Slot> {
        var i = FixedTable.hash(k0, k1) & mask
        var victim: UnsafeMutablePointer<Slot>? = nil
        for _ in 0..<FixedTable.probes {
            let s = slots + i
            if s.pointee.used {
                if s.pointee.k0 == k0 && s.pointee.k1 == k1 {
                    inserted = false
                    return s
                }
                if victim == nil || (victim!.pointee.used && s.pointee.lastNs < victim!.pointee.lastNs) { victim = s }
            } else if victim == nil || victim!.pointee.used {
                victim = s
            }
            i = (i &+ 1) & mask
        }
        let s = victim!
        if s.pointee.used { evictions &+= 1 } else { count &+= 1 }
        s.pointee = Slot(k0: k0, k1: k1, lastNs: nowNs, used: true, value: empty)
        inserted = true
        return s
    }

    /// The slot at `index` (a hint from `index(of:)`; check its key before trusting it).
    @inline(__always) func slot(_ index: UInt32) -> UnsafeMutablePointer<Slot> {
        slots + (Int(index) & mask)
    }

    /// Where `slot` sits in the table.
    @inline(__always) func index(of slot: UnsafeMutablePointer<Slot>) -> Int { slots.distance(to: slot) }

    public func forEach(_ body: (Slot) -> Void) {
        for i in 0..<capacity where slots[i].used { body(slots[i]) }
    }

    /// Copies every slot and the counts of `other`, which must have the same capacity.
    public mutating func copyContents(of other: FixedTable<Value>) {
        precondition(other.capacity == capacity, "tables of different capacity")
        slots.update(from: other.slots, count: capacity)
        count = other.count
        evictions = other.evictions
    }

    public mutating func removeAll(empty: Value) {
        for i in 0..<capacity { slots[i] = Slot(k0: 0, k1: 0, lastNs: 0, used: false, value: empty) }
        count = 0
    }
}
