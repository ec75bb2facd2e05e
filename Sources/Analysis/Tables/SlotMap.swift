/// A map from `SlotKey` keys to values, stored in two arrays in insertion order and found
/// through a `SlotIndex` (no `Hasher`, no allocation per lookup). It only grows, doubling its
/// index when half full, until `removeAll()`: for per-segment index aggregates and the node's
/// latest packet per flow, both emptied regularly.
struct SlotMap<Key: SlotKey, Value> {
    private(set) var keys: [Key] = []
    private(set) var values: [Value] = []
    private var hashes: [UInt64] = []
    private var index: SlotIndex
    private var capacity: Int

    init(capacity: Int = 1024) {
        self.capacity = max(16, capacity)
        index = SlotIndex(capacity: self.capacity)
    }

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    subscript(key: Key) -> Value? {
        let hash = key.slotHash
        return index.find(hash) { keys[$0] == key }.map { values[$0] }
    }

    /// Runs `body` on the value of `key`, created by `make` first when absent.
    @inline(__always)
    mutating func update(_ key: Key, make: () -> Value, _ body: (inout Value) -> Void) {
        let hash = key.slotHash
        if let slot = index.find(hash, { keys[$0] == key }) {
            body(&values[slot])
            return
        }
        if keys.count >= capacity { grow() }
        keys.append(key)
        values.append(make())
        hashes.append(hash)
        index.insert(hash, slot: keys.count - 1)
        body(&values[values.count - 1])
    }

    /// Sets the value of `key`.
    mutating func set(_ key: Key, _ value: Value) {
        update(key, make: { value }) { $0 = value }
    }

    mutating func removeAll() {
        guard !keys.isEmpty else { return }
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        index.removeAll()
    }

    /// Every entry, in insertion order.
    func forEach(_ body: (Key, Value) -> Void) {
        for slot in keys.indices { body(keys[slot], values[slot]) }
    }

    private mutating func grow() {
        capacity *= 2
        index = SlotIndex(capacity: capacity)
        for slot in hashes.indices { index.insert(hashes[slot], slot: slot) }
    }
}
