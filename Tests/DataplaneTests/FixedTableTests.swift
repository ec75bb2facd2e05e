import XCTest

@testable import Dataplane

/// FixedTable: bounded open addressing with least-recently-seen eviction.
final class FixedTableTests: XCTestCase {
    private func insert(_ t: inout FixedTable<Int>, _ k0: UInt64, _ k1: UInt64 = 0, at now: UInt64, value: Int)
        -> Bool
    {
        var inserted = false
        let s = t.findOrInsert(k0, k1, at: now, empty: -1, inserted: &inserted)
        if inserted { XCTAssertEqual(s.pointee.value, -1, "a new slot starts empty") }
        s.pointee.value = value
        s.pointee.lastNs = now
        return inserted
    }

    /// Keys (k0, 0) whose home slot is `home` in a table of this capacity.
    private func collidingKeys(capacity: Int, home: Int = 0, count: Int) -> [UInt64] {
        var keys: [UInt64] = []
        var k: UInt64 = 1
        while keys.count < count {
            if FixedTable<Int>.hash(k, 0) & (capacity - 1) == home { keys.append(k) }
            k += 1
        }
        return keys
    }

    func testCapacityIsRoundedUpToAPowerOfTwoOfAtLeastEight() {
        for (asked, got) in [(0, 8), (1, 8), (8, 8), (9, 16), (100, 128), (128, 128), (129, 256), (2048, 2048)] {
            let t = FixedTable<Int>(capacity: asked, empty: 0)
            XCTAssertEqual(t.capacity, got, "capacity \(asked)")
            XCTAssertEqual(t.count, 0)
            t.deallocate()
        }
    }

    func testInsertAndFind() {
        var t = FixedTable<Int>(capacity: 64, empty: -1)
        defer { t.deallocate() }
        for i in 0..<40 {
            XCTAssertTrue(insert(&t, UInt64(i), UInt64(i * 7), at: UInt64(i + 1), value: i * 10))
        }
        XCTAssertEqual(t.count, 40)
        for i in 0..<40 {
            let s = t.find(UInt64(i), UInt64(i * 7))
            XCTAssertNotNil(s, "key \(i)")
            XCTAssertEqual(s?.pointee.value, i * 10)
            XCTAssertEqual(s?.pointee.k0, UInt64(i))
            XCTAssertEqual(s?.pointee.k1, UInt64(i * 7))
        }
        // Both key words matter.
        XCTAssertNil(t.find(3, 22))
        XCTAssertNil(t.find(1_000, 0))
        // Finding an existing key through findOrInsert returns the same slot, not a new one.
        var inserted = true
        let s = t.findOrInsert(5, 35, at: 100, empty: -1, inserted: &inserted)
        XCTAssertFalse(inserted)
        XCTAssertEqual(s.pointee.value, 50)
        XCTAssertEqual(s, t.find(5, 35))
        XCTAssertEqual(t.count, 40)
        XCTAssertEqual(t.evictions, 0)
        var seen = 0
        t.forEach { _ in seen += 1 }
        XCTAssertEqual(seen, 40)
    }

    func testFullNeighbourhoodEvictsLeastRecentlySeen() {
        // Nine keys with the same home slot in a large table: the probe neighbourhood (8 slots)
        // fills long before the table does.
        let capacity = 1_024
        let keys = collidingKeys(capacity: capacity, count: 12)
        var t = FixedTable<Int>(capacity: capacity, empty: -1)
        defer { t.deallocate() }
        for (i, k) in keys.prefix(8).enumerated() {
            XCTAssertTrue(insert(&t, k, at: UInt64(100 + i), value: i))
        }
        XCTAssertEqual(t.count, 8)
        XCTAssertEqual(t.evictions, 0)

        // Touch the oldest key: the second oldest becomes the victim.
        t.find(keys[0], 0)!.pointee.lastNs = 500
        XCTAssertTrue(insert(&t, keys[8], at: 600, value: 8))
        XCTAssertEqual(t.count, 8, "an eviction replaces, it does not add")
        XCTAssertEqual(t.evictions, 1)
        XCTAssertNil(t.find(keys[1], 0), "the least recently seen key is evicted")
        XCTAssertNotNil(t.find(keys[0], 0))
        XCTAssertEqual(t.find(keys[8], 0)?.pointee.value, 8)

        XCTAssertTrue(insert(&t, keys[9], at: 700, value: 9))
        XCTAssertNil(t.find(keys[2], 0))
        XCTAssertEqual(t.evictions, 2)
        XCTAssertEqual(t.count, 8)
        for k in [keys[0]] + Array(keys[3...9]) { XCTAssertNotNil(t.find(k, 0)) }
    }

    func testCountNeverExceedsCapacity() {
        var t = FixedTable<Int>(capacity: 100, empty: -1)
        defer { t.deallocate() }
        var rng = SplitMix(seed: 7)
        for i in 0..<20_000 {
            _ = insert(&t, rng.next(), rng.next(), at: UInt64(i + 1), value: i)
            XCTAssertLessThanOrEqual(t.count, t.capacity)
        }
        XCTAssertEqual(t.capacity, 128)
        XCTAssertGreaterThan(t.count, 100, "random keys fill most of the table")
        XCTAssertEqual(UInt64(t.count) + t.evictions, 20_000, "every insert either filled a slot or evicted one")
        var seen = 0
        t.forEach { _ in seen += 1 }
        XCTAssertEqual(seen, t.count)
        // The most recent key is always there.
        var last = SplitMix(seed: 7)
        var lastKey = (UInt64(0), UInt64(0))
        for _ in 0..<20_000 { lastKey = (last.next(), last.next()) }
        XCTAssertEqual(t.find(lastKey.0, lastKey.1)?.pointee.value, 19_999)
    }

    func testRemoveAll() {
        var t = FixedTable<Int>(capacity: 16, empty: -1)
        defer { t.deallocate() }
        for i in 0..<10 { _ = insert(&t, UInt64(i), 1, at: UInt64(i + 1), value: i) }
        XCTAssertEqual(t.count, 10)
        t.removeAll(empty: -1)
        XCTAssertEqual(t.count, 0)
        for i in 0..<10 { XCTAssertNil(t.find(UInt64(i), 1)) }
        var seen = 0
        t.forEach { _ in seen += 1 }
        XCTAssertEqual(seen, 0)
        XCTAssertTrue(insert(&t, 3, 1, at: 50, value: 33))
        XCTAssertEqual(t.find(3, 1)?.pointee.value, 33)
        XCTAssertEqual(t.count, 1)
    }
}
