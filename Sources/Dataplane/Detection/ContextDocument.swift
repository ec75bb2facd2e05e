/// The learned part of a VM's detection context in a baseline document: known prefixes, habits
/// in the making, the calibrated threshold's score histogram. DNS answers are not kept (they live
/// for their TTL); names already learned are host entries of the baseline (key fffd...), which
/// carry the name's text (BaselineDocument.Entry.name).
public struct ContextDocument: Codable, Sendable, Equatable {
    public struct Prefix: Codable, Sendable, Equatable {
        public var k0: String
        public var k1: String
        public var packets: UInt64
        public var last_seen: String
    }

    public struct Habit: Codable, Sendable, Equatable {
        public var k0: String
        public var k1: String
        public var first_seen: String
        public var last_seen: String
        public var sightings: UInt32
        public var visits: UInt16
        public var days: UInt16
        public var last_day: UInt32
    }

    public var prefixes: [Prefix]
    public var habits: [Habit]
    public var habits_learned: UInt64
    /// Counts per score class (ScoreCalibration.classes of them).
    public var score_classes: [UInt32]
    public var threshold: Double

    static func hex(_ v: UInt64) -> String { String(v, radix: 16) }

    public init(_ c: DetectionContext) {
        var prefixes: [Prefix] = []
        c.prefixes.forEach { prefixes.append(Prefix(k0: Self.hex($0.k0), k1: Self.hex($0.k1), packets: $0.value, last_seen: Self.hex($0.lastNs))) }
        var habits: [Habit] = []
        c.habits.table.forEach { s in
            let h = s.value
            habits.append(Habit(k0: Self.hex(s.k0), k1: Self.hex(s.k1), first_seen: Self.hex(h.firstNs), last_seen: Self.hex(s.lastNs),
                                sightings: h.sightings, visits: h.visits, days: h.days, last_day: h.lastDay))
        }
        self.prefixes = prefixes
        self.habits = habits
        habits_learned = c.habits.learned
        score_classes = (0..<ScoreCalibration.classes).map { element(c.calibration.counts, $0, UInt32.self) }
        threshold = c.calibration.threshold
    }

    /// Replaces `c`'s learned context with the document's (its DNS names and incoming rate stay).
    func restore(into c: inout DetectionContext) throws(BaselineDocumentError) {
        guard score_classes.count == ScoreCalibration.classes else {
            throw BaselineDocumentError(description: "context.score_classes: \(score_classes.count) classes, not \(ScoreCalibration.classes)")
        }
        var fresh = DetectionContext()
        defer { fresh.deallocate() }
        var inserted = false
        for (i, p) in prefixes.enumerated() {
            let at = try BaselineDocument.value(p.last_seen, "context.prefixes[\(i)].last_seen")
            let s = fresh.prefixes.findOrInsert(try BaselineDocument.value(p.k0, "context.prefixes[\(i)].k0"),
                                                try BaselineDocument.value(p.k1, "context.prefixes[\(i)].k1"), at: at, empty: 0, inserted: &inserted)
            s.pointee.lastNs = at
            s.pointee.value = p.packets
        }
        for (i, h) in habits.enumerated() {
            let at = try BaselineDocument.value(h.last_seen, "context.habits[\(i)].last_seen")
            let s = fresh.habits.table.findOrInsert(try BaselineDocument.value(h.k0, "context.habits[\(i)].k0"),
                                                    try BaselineDocument.value(h.k1, "context.habits[\(i)].k1"), at: at,
                                                    empty: Habits.Habit(), inserted: &inserted)
            s.pointee.lastNs = at
            s.pointee.value = Habits.Habit(firstNs: try BaselineDocument.value(h.first_seen, "context.habits[\(i)].first_seen"),
                                           sightings: h.sightings, visits: h.visits, days: h.days, lastDay: h.last_day)
        }
        fresh.habits.restoreLearned(habits_learned)
        fresh.calibration.restore(counts: score_classes, threshold: threshold)
        c.copyLearned(of: fresh)
    }
}
