/// A fixed-capacity table that forgets its least recently touched entry when full and can drop
/// entries idle for too long: the modules' state stays bounded whatever the traffic.
///
/// Entries live in one array linked in recency order (most recent at `head`); lookups go through
/// a dictionary of slot indices. Every operation is O(1) except `expire`, which walks only the
/// entries it removes plus one.
struct InspectLRU<Key: Hashable, Value> {
    private struct Node {
        var key: Key
        var value: Value
        var touchedNs: UInt64
        var newer: Int
        var older: Int
    }

    let capacity: Int
    private var nodes: [Node] = []
    private var slots: [Key: Int] = [:]
    private var free: [Int] = []
    private var head = -1
    private var tail = -1
    /// Entries dropped because the table was full.
    private(set) var evictions = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { slots.count }
    var isEmpty: Bool { slots.isEmpty }

    func peek(_ key: Key) -> Value? {
        slots[key].map { nodes[$0].value }
    }

    func contains(_ key: Key) -> Bool { slots[key] != nil }

    /// Runs `body` on the entry for `key`, creating it with `make` first if needed (evicting
    /// the least recently touched entry when full), and marks it touched at `nowNs`.
    /// `evicted` sees the entry that made room, if one did.
    @discardableResult
    mutating func update<R>(
        _ key: Key, nowNs: UInt64, make: () -> Value, evicted: ((Key, Value) -> Void)? = nil,
        _ body: (inout Value) -> R
    ) -> R {
        let slot: Int
        if let existing = slots[key] {
            slot = existing
            unlink(slot)
        } else {
            if slots.count >= capacity, tail >= 0 {
                let victim = tail
                unlink(victim)
                slots[nodes[victim].key] = nil
                evicted?(nodes[victim].key, nodes[victim].value)
                free.append(victim)
                evictions += 1
            }
            let node = Node(key: key, value: make(), touchedNs: nowNs, newer: -1, older: -1)
            if let reused = free.popLast() {
                nodes[reused] = node
                slot = reused
            } else {
                nodes.append(node)
                slot = nodes.count - 1
            }
            slots[key] = slot
        }
        nodes[slot].touchedNs = max(nodes[slot].touchedNs, nowNs)
        linkAtHead(slot)
        return body(&nodes[slot].value)
    }

    /// Changes an existing entry without touching it; nil when absent.
    @discardableResult
    mutating func modify<R>(_ key: Key, _ body: (inout Value) -> R) -> R? {
        guard let slot = slots[key] else { return nil }
        return body(&nodes[slot].value)
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard let slot = slots.removeValue(forKey: key) else { return nil }
        unlink(slot)
        free.append(slot)
        return nodes[slot].value
    }

    /// Removes every entry last touched before `cutoffNs`, oldest first, handing each to `removed`.
    mutating func expire(before cutoffNs: UInt64, _ removed: ((Key, Value) -> Void)? = nil) {
        while tail >= 0, nodes[tail].touchedNs < cutoffNs {
            let slot = tail
            unlink(slot)
            slots[nodes[slot].key] = nil
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
