import CDPDK

/// The texts of the DNS names a VM's baseline knows, so that people read `cloud.example.com`
/// where the tables hold a hash (`bmactl vm show`, the baseline export). Filled when a DNS
/// answer is taken (rare; never on the per-packet path), fixed memory (`capacity` names of at
/// most BMA_DNS_NAME_MAX characters), no allocation after init; owned by the worker that polls
/// the VM.
///
/// A name is kept while its answer's TTL runs (as DNSNames trusts it) and for as long after as
/// the baseline knows it (a host entry under its name key). A new name takes a free slot of its
/// neighbourhood, else one whose TTL ran out and that the baseline does not know, else the least
/// recently answered name the baseline does not know, else the least recently answered one.
public struct NameTexts {
    public struct Entry: Sendable {
        /// bma_dns_name_hash of the name; 0 marks a free slot.
        public var hash: UInt64 = 0
        public var answeredNs: UInt64 = 0
        public var expiresNs: UInt64 = 0
        public var length: UInt8 = 0
    }

    let entries: UnsafeMutablePointer<Entry>
    /// `capacity` texts of `textStride` bytes each, entry i's at i * textStride (no NUL kept).
    let texts: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0
    public private(set) var evictions: UInt64 = 0

    public static let capacity = 128
    static let textStride = 256
    static let probes = 8

    public init() {
        entries = .allocate(capacity: NameTexts.capacity)
        entries.initialize(repeating: Entry(), count: NameTexts.capacity)
        texts = .allocate(capacity: NameTexts.capacity * NameTexts.textStride)
        texts.initialize(repeating: 0, count: NameTexts.capacity * NameTexts.textStride)
    }

    public func deallocate() {
        entries.deallocate()
        texts.deallocate()
    }

    public mutating func reset() {
        entries.update(repeating: Entry(), count: NameTexts.capacity)
        count = 0
        evictions = 0
    }

    public mutating func copyContents(of other: NameTexts) {
        entries.update(from: other.entries, count: NameTexts.capacity)
        texts.update(from: other.texts, count: NameTexts.capacity * NameTexts.textStride)
        count = other.count
        evictions = other.evictions
    }

    @inline(__always) static func home(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 40) & (capacity - 1)
    }

    /// Whether the baseline knows the name (a host entry under its name key).
    @inline(__always) static func known(_ hash: UInt64, in hosts: FixedTable<Baseline.Host>) -> Bool {
        let k = DestinationKey.name(hash)
        return hosts.find(k.0, k.1) != nil
    }

    /// Keeps `length` characters at `text` as the name `hash` until `expiresNs` (or later, if an
    /// earlier answer said so), at time `t`. `hosts` is the baseline's host table: names it knows
    /// are not given up for new ones while others can be.
    public mutating func record(_ hash: UInt64, text: UnsafePointer<UInt8>, length: Int, expiresNs: UInt64, at t: UInt64,
                                hosts: FixedTable<Baseline.Host>) {
        guard hash != 0 else { return }
        let n = min(max(length, 0), Int(BMA_DNS_NAME_MAX))
        var slot = -1
        var victim = -1
        var victimRank = (3, UInt64.max) // lower is a better victim: (class, answered)
        let start = NameTexts.home(hash)
        for i in 0..<NameTexts.probes {
            let s = (start + i) & (NameTexts.capacity - 1)
            let e = entries[s]
            if e.hash == hash { slot = s; break }
            let rank: (Int, UInt64)
            if e.hash == 0 {
                rank = (0, 0)
            } else if NameTexts.known(e.hash, in: hosts) {
                rank = (3, e.answeredNs)
            } else {
                rank = (e.expiresNs < t ? 1 : 2, e.answeredNs)
            }
            if rank < victimRank || victim < 0 { victim = s; victimRank = rank }
        }
        var expires = expiresNs
        if slot >= 0 {
            expires = max(expires, entries[slot].expiresNs)
        } else {
            slot = victim
            if entries[slot].hash == 0 { count += 1 } else { evictions &+= 1 }
        }
        entries[slot] = Entry(hash: hash, answeredNs: t, expiresNs: expires, length: UInt8(n))
        (texts + slot * NameTexts.textStride).update(from: text, count: n)
    }

    /// The text of `hash`, or nil when it is not kept. Allocates: for the control plane.
    public func text(_ hash: UInt64) -> String? {
        guard hash != 0 else { return nil }
        let start = NameTexts.home(hash)
        for i in 0..<NameTexts.probes {
            let s = (start + i) & (NameTexts.capacity - 1)
            guard entries[s].hash == hash else { continue }
            let bytes = UnsafeBufferPointer(start: texts + s * NameTexts.textStride, count: Int(entries[s].length))
            return String(decoding: bytes, as: UTF8.self)
        }
        return nil
    }

    /// Every kept name with its text, in slot order. Allocates: for the control plane and tests.
    public func all() -> [(entry: Entry, text: String)] {
        (0..<NameTexts.capacity).compactMap { s in
            let e = entries[s]
            guard e.hash != 0 else { return nil }
            return (e, String(decoding: UnsafeBufferPointer(start: texts + s * NameTexts.textStride, count: Int(e.length)), as: UTF8.self))
        }
    }

    /// Whether `s` reads as bma_dns_parse writes a name: at most BMA_DNS_NAME_MAX characters of
    /// printable ASCII without quote or backslash (what a baseline document may bring back).
    public static func isText(_ s: String) -> Bool {
        let u = s.utf8
        return u.count <= Int(BMA_DNS_NAME_MAX) && u.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != 0x22 && $0 != 0x5c }
    }

    /// Bytes held, fixed at creation.
    public static var memoryBytes: Int {
        MemoryLayout<NameTexts>.size + capacity * (MemoryLayout<Entry>.stride + textStride)
    }
}
