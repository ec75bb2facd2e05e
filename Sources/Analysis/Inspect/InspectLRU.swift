/// A fixed-capacity table that forgets its least recently touched entry when full and can drop
/// entries idle for too long: the modules' state stays bounded whatever the traffic.
///
/// Entries live in one array linked in recency order (most recent at `head`); lookups go through
/// an open-addressing index of slot numbers keyed by the key's own 64-bit hash (no `Hasher`, no
/// allocation per packet). Every operation is O(1) except `expire`, which walks only the entries
/// it removes plus one.
struct InspectLRU<Key: SlotKey, Value> {
    private struct Node {
        var key: Key
        var value: Value
        var touchedNs: UInt64
        var hash: UInt64
        var newer: Int
        var older: Int
    }

    let capacity: Int
    private var nodes: [Node] = []
    private var slots: SlotIndex
    private var live = 0
    private var free: [Int] = []
    private var head = -1
    private var tail = -1
    /// Entries dropped because the table was full.
    private(set) var evictions = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        slots = SlotIndex(capacity: self.capacity)
    }

    var count: Int { live }
    var isEmpty: Bool { live == 0 }

    @inline(__always)
    private func slot(of key: Key, hash: UInt64) -> Int? {
        slots.find(hash) { nodes[$0].key == key }
    }

    func peek(_ key: Key) -> Value? {
        slot(of: key, hash: key.slotHash).map { nodes[$0].value }
    }

    func contains(_ key: Key) -> Bool { slot(of: key, hash: key.slotHash) != nil }

    /// Runs `body` on the entry for `key`, creating it with `make` first if needed (evicting
    /// the least recently touched entry when full), and marks it touched at `nowNs`.
    /// `evicted` sees the entry that made room, if one did.
    @discardableResult
    mutating func update<R>(
        _ key: Key, nowNs: UInt64, make: () -> Value, evicted: ((Key, Value) -> Void)? = nil,
        _ body: (inout Value) -> R
    ) -> R {
        let slot: Int
        let hash = key.slotHash
        if let existing = self.slot(of: key, hash: hash) {
            slot = existing
            unlink(slot)
        } else {
            if live >= capacity, tail >= 0 {
                let victim = tail
                unlink(victim)
                slots.remove(nodes[victim].hash, slot: victim)
                live -= 1
                evicted?(nodes[victim].key, nodes[victim].value)
                free.append(victim)
                evictions += 1
            }
            let node = Node(key: key, value: make(), touchedNs: nowNs, hash: hash, newer: -1, older: -1)
            if let reused = free.popLast() {
                nodes[reused] = node
                slot = reused
            } else {
                nodes.append(node)
                slot = nodes.count - 1
            }
            slots.insert(hash, slot: slot)
            live += 1
        }
        nodes[slot].touchedNs = max(nodes[slot].touchedNs, nowNs)
        linkAtHead(slot)
        return body(&nodes[slot].value)
    }

    /// Changes an existing entry without touching it; nil when absent.
    @discardableResult
    mutating func modify<R>(_ key: Key, _ body: (inout Value) -> R) -> R? {
        guard let slot = slot(of: key, hash: key.slotHash) else { return nil }
        return body(&nodes[slot].value)
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard let slot = slot(of: key, hash: key.slotHash) else { return nil }
        slots.remove(nodes[slot].hash, slot: slot)
        live -= 1
        unlink(slot)
        free.append(slot)
        return nodes[slot].value
    }

    /// Removes every entry last touched before `cutoffNs`, oldest first, handing each to `removed`.
    mutating func expire(before cutoffNs: UInt64, _ removed: ((Key, Value) -> Void)? = nil) {
        while tail >= 0, nodes[tail].touchedNs < cutoffNs {
            let slot = tail
            unlink(slot)
            slots.remove(nodes[slot].hash, slot: slot)
            live -= 1
            removed?(nodes[slot].key, nodes[slot].value)
            free.append(slot)
        }
    }

    /// Every entry, most recently touched first.
    func forEach(_ body: (Key, Value, UInt64) -> Void) {
        var slot = head
        while slot >= 0 {
            body(nodes[slot].key, nodes[slot].value, nodes[slot].touchedNs)
            slot = nodes[slot].older
        }
    }

    /// Changes every entry in place (recency unchanged).
    mutating func modifyAll(_ body: (Key, inout Value) -> Void) {
        var slot = head
        while slot >= 0 {
            body(nodes[slot].key, &nodes[slot].value)
            slot = nodes[slot].older
        }
    }

    mutating func removeAll() {
        nodes.removeAll()
        slots.removeAll()
        live = 0
        free.removeAll()
        head = -1
        tail = -1
    }

    private mutating func unlink(_ slot: Int) {
        let newer = nodes[slot].newer
        let older = nodes[slot].older
        if newer >= 0 { nodes[newer].older = older } else { head = older }
        if older >= 0 { nodes[older].newer = newer } else { tail = newer }
        nodes[slot].newer = -1
        nodes[slot].older = -1
    }

    private mutating func linkAtHead(_ slot: Int) {
        nodes[slot].older = head
        nodes[slot].newer = -1
        if head >= 0 { nodes[head].newer = slot }
        head = slot
        if tail < 0 { tail = slot }
    }
}
