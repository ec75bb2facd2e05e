/// Novelty that keeps coming back is a habit, not an attack: a daily check-in, a weekly update,
/// a reconnection that sends a message of an unusual size. A novelty (any two-word key: a
/// destination, a service, a (service, size class)) counts a visit when it is seen after at
/// least `quietNs` of silence; it is a habit once it has been visited `visits` times, or twice on
/// two different days. A burst is one visit however dense; novelty that persists without a
/// pause (a new application) becomes a habit after `persistNs` and `persistSightings`
/// sightings (detection.promote_seconds). Fixed memory: the least recently seen novelty is
/// forgotten when the table is full.
public struct Habits {
    public struct Habit: Sendable {
        public var firstNs: UInt64 = 0
        public var sightings: UInt32 = 0
        public var visits: UInt16 = 0
        public var days: UInt16 = 0
        /// Day number (time / 1 day) of the last visit.
        public var lastDay: UInt32 = 0
    }

    public var table: FixedTable<Habit>
    public private(set) var learned: UInt64 = 0

    public static let capacity = 256
    /// Silence that separates two visits.
    public static let quietNs: UInt64 = 3600 * 1_000_000_000
    /// Visits that make a habit (two suffice on two different days).
    public static let visits: UInt16 = 3
    /// Sightings that novelty persisting for `persistNs` needs.
    public static let persistSightings: UInt32 = 8
    static let dayNs: UInt64 = 86_400 * 1_000_000_000

    public init() {
        table = FixedTable(capacity: Habits.capacity, empty: Habit())
    }

    public func deallocate() { table.deallocate() }

    public mutating func reset() {
        table.removeAll(empty: Habit())
        learned = 0
    }

    public mutating func copyContents(of other: Habits) {
        table.copyContents(of: other.table)
        learned = other.learned
    }

    /// Records a sighting of novelty (k0, k1) at `t`; true when it is (now) a habit. `persistNs`
    /// 0 learns no novelty at all.
    @inline(__always)
    public mutating func sighting(_ k0: UInt64, _ k1: UInt64, at t: UInt64, persistNs: UInt64) -> Bool {
        if persistNs == 0 { return false }
        var fresh = false
        let s = table.findOrInsert(k0, k1, at: t, empty: Habit(firstNs: t), inserted: &fresh)
        s.pointee.value.sightings &+= 1
        let day = UInt32(truncatingIfNeeded: t / Habits.dayNs)
        if fresh || t &- s.pointee.lastNs >= Habits.quietNs {
            s.pointee.value.visits &+= 1
            if fresh || day != s.pointee.value.lastDay { s.pointee.value.days &+= 1 }
            s.pointee.value.lastDay = day
        }
        if t > s.pointee.lastNs { s.pointee.lastNs = t }
        let h = s.pointee.value
        return Habits.isHabit(h) || (h.sightings >= Habits.persistSightings && t &- h.firstNs >= persistNs)
    }

    @inline(__always) static func isHabit(_ h: Habit) -> Bool {
        h.visits >= Habits.visits || (h.visits >= 2 && h.days >= 2)
    }

    /// Whether (k0, k1) is a habit already, without recording a sighting.
    @inline(__always)
    public func isHabit(_ k0: UInt64, _ k1: UInt64) -> Bool {
        guard let s = table.find(k0, k1) else { return false }
        return Habits.isHabit(s.pointee.value)
    }

    /// A restored document's count of novelties learned.
    mutating func restoreLearned(_ n: UInt64) { learned = n }

    /// Counts a novelty learned because it became a habit.
    @inline(__always) public mutating func countLearned() { learned &+= 1 }

    /// Bytes held, fixed at creation.
    public static var memoryBytes: Int {
        MemoryLayout<Habits>.size + capacity * MemoryLayout<FixedTable<Habit>.Slot>.stride
    }
}
