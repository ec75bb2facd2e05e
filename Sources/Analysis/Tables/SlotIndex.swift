/// A key that gives its own 64-bit hash: the analyzer's per-flow tables look it up in an
/// open-addressing `SlotIndex` without going through `Hasher` (SipHash) on every packet.
protocol SlotKey: Equatable {
    /// Well mixed (every input bit reaches the high 32 bits, which pick the bucket).
    var slotHash: UInt64 { get }
}

/// Mixing for `SlotKey` hashes (the same finaliser as bmad's flow hash).
enum SlotHash {
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 32
        x = x &* 0xD6E8_FEB8_6659_FD93
        x ^= x >> 32
        x = x &* 0x9E37_79B9_7F4A_7C15
        x ^= x >> 29
        return x
    }

    @inline(__always)
    static func combine(_ a: UInt64, _ b: UInt64) -> UInt64 {
        mix(a &* 0xA076_1D64_78BD_642F ^ (b &+ 0x9E37_79B9_7F4A_7C15))
    }
}

/// A fixed-size open-addressing table from a key's hash to a slot number in the caller's own
/// storage (linear probing, at most half full, backward-shift deletion: no tombstones, no
/// allocation after `init`). Each entry packs the hash's high 32 bits (the tag, which also gives
/// the home bucket) and the slot number + 1 (0 = empty). The caller compares keys.
struct SlotIndex {
    private var entries: [UInt64]
    private let mask: Int

    /// Room for `capacity` slots at a load of at most 1/2.
    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        entries = Array(repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func tag(_ hash: UInt64) -> UInt64 { hash >> 32 }

    /// The slot whose key `matches`, among those stored under `hash`.
    @inline(__always)
    func find(_ hash: UInt64, _ matches: (Int) -> Bool) -> Int? {
        let tag = Self.tag(hash)
        var bucket = Int(truncatingIfNeeded: tag) & mask
        while true {
            let entry = entries[bucket]
            if entry == 0 { return nil }
            if entry >> 32 == tag {
                let slot = Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                if matches(slot) { return slot }
            }
            bucket = (bucket + 1) & mask
        }
    }

    /// Records `slot` under `hash` (the caller knows the key is not there yet).
    mutating func insert(_ hash: UInt64, slot: Int) {
        let tag = Self.tag(hash)
        var bucket = Int(truncatingIfNeeded: tag) & mask
        while entries[bucket] != 0 { bucket = (bucket + 1) & mask }
        entries[bucket] = tag << 32 | UInt64(slot + 1)
    }

    /// Forgets `slot`, stored under `hash`; later entries of the probe run move back.
    mutating func remove(_ hash: UInt64, slot: Int) {
        let wanted = Self.tag(hash) << 32 | UInt64(slot + 1)
        var hole = Int(truncatingIfNeeded: Self.tag(hash)) & mask
        while entries[hole] != wanted {
            if entries[hole] == 0 { return }
            hole = (hole + 1) & mask
        }
        var next = (hole + 1) & mask
        while entries[next] != 0 {
            let home = Int(truncatingIfNeeded: entries[next] >> 32) & mask
            // The entry may fill the hole when its home is not in (hole, next] (cyclically).
            let distanceToNext = (next - home) & mask
            let distanceToHole = (next - hole) & mask
            if distanceToNext >= distanceToHole {
                entries[hole] = entries[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        entries[hole] = 0
    }

    mutating func removeAll() {
        for i in entries.indices { entries[i] = 0 }
    }
}
