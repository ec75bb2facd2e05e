import CDPDK

/// Which names the addresses a VM talks to stand for, from the DNS answers bmad saw on their way
/// to the VM (bma_dns_burst). Bounded and time-limited: an answer is trusted for its TTL, at
/// least `minimumNs` (answers with TTL 0 still name the connection that follows) and at most
/// `maximumNs`, plus `graceNs` for the connection made at the end of the TTL. Fixed memory,
/// no allocation after init; owned by the worker that polls the VM.
public struct DNSNames {
    public struct Entry: Sendable {
        /// bma_dns_name_hash of the question name; never 0 in a used slot.
        public var name: UInt64 = 0
        public var expiresNs: UInt64 = 0
    }

    public var table: FixedTable<Entry>
    /// Answers taken in (for `bmactl vm show` and tests).
    public private(set) var answers: UInt64 = 0

    public static let capacity = 512
    public static let minimumNs: UInt64 = 60 * 1_000_000_000
    public static let maximumNs: UInt64 = 86_400 * 1_000_000_000
    public static let graceNs: UInt64 = 600 * 1_000_000_000

    public init() {
        table = FixedTable(capacity: DNSNames.capacity, empty: Entry())
    }

    public func deallocate() { table.deallocate() }

    public mutating func reset() {
        table.removeAll(empty: Entry())
        answers = 0
    }

    public mutating func copyContents(of other: DNSNames) {
        table.copyContents(of: other.table)
        answers = other.answers
    }

    /// Takes one answer at time `t`: `address` now stands for `name` for the answer's TTL.
    @inline(__always)
    public mutating func learn(_ a: bma_dns_answer_t, at t: UInt64) {
        if a.name_hash == 0 { return }
        var inserted = false
        let s = table.findOrInsert(a.addr_hi, a.addr_lo, at: t, empty: Entry(), inserted: &inserted)
        s.pointee.lastNs = t
        s.pointee.value = Entry(name: a.name_hash, expiresNs: DNSNames.expiry(a, at: t))
        answers &+= 1
    }

    /// Until when an answer taken at `t` is trusted: its TTL within the bounds, plus the grace.
    @inline(__always)
    public static func expiry(_ a: bma_dns_answer_t, at t: UInt64) -> UInt64 {
        t &+ min(max(UInt64(a.ttl) &* 1_000_000_000, minimumNs), maximumNs) &+ graceNs
    }

    /// Takes `count` answers (one burst's) at time `t`.
    @inline(__always)
    public mutating func learn(_ answers: UnsafePointer<bma_dns_answer_t>, count: Int, at t: UInt64) {
        for i in 0..<count { learn(answers[i], at: t) }
    }

    /// The name `address` stands for at `t`, or 0 when no unexpired answer gave it.
    @inline(__always)
    public func name(_ hi: UInt64, _ lo: UInt64, at t: UInt64) -> UInt64 {
        guard let s = table.find(hi, lo), s.pointee.value.expiresNs >= t else { return 0 }
        return s.pointee.value.name
    }

    /// Bytes held, fixed at creation.
    public static var memoryBytes: Int {
        MemoryLayout<DNSNames>.size + capacity * MemoryLayout<FixedTable<Entry>.Slot>.stride
    }
}

/// Keys under which a destination is learned besides its address: the DNS name it was reached
/// by, and its network prefix (a weaker known-ness). Tagged so they never equal an address key
/// (IPv4 keys have hi = 0, IPv6 keys are real addresses; these tags sit in ff00::/8 space that
/// unicast traffic does not use, and MAC keys use 0xFFFF...).
public enum DestinationKey {
    static let nameTag: UInt64 = 0xFFFD_0000_0000_0000
    static let prefixTag: UInt64 = 0xFFFC_0000_0000_0000

    /// The key of a DNS name (as bma_dns_name_hash gives it).
    @inline(__always) public static func name(_ hash: UInt64) -> (UInt64, UInt64) { (nameTag, hash) }

    /// The key of the address's prefix: the first `v4Bits` bits of an IPv4 (v4-mapped) address,
    /// or `v6Bits` of an IPv6 one. (0, 0) for addresses without one (MAC keys).
    @inline(__always)
    public static func prefix(_ hi: UInt64, _ lo: UInt64, v4Bits: Int, v6Bits: Int) -> (UInt64, UInt64) {
        if hi == 0 && lo >> 32 == 0xFFFF {
            let b = min(max(v4Bits, 1), 32)
            let mask: UInt64 = (0xFFFF_FFFF << UInt64(32 - b)) & 0xFFFF_FFFF
            return (prefixTag | UInt64(b), lo & (0xFFFF_0000_0000 | mask))
        }
        if hi >> 48 == 0xFFFF || hi >> 56 == 0xFF { return (0, 0) } // MAC keys, multicast, tags
        let b = min(max(v6Bits, 1), 64)
        let mask: UInt64 = b == 64 ? .max : ~(UInt64.max >> UInt64(b))
        return (hi & mask, prefixTag | UInt64(b))
    }
}
