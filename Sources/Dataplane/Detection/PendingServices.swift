/// The known services a segment's known-flow packets went to. Each entry takes what judging its
/// service needs once, at the service's first packet in the segment (its damped count, start-up
/// correction, rate denominator, size mean and spread), counts the segment's packets on top,
/// and gathers what they teach; `Detector.flushServices` writes it all back at once. A replay
/// judges one packet per segment, so there this is exactly the per-packet update; live, every
/// packet of a burst is judged against its service as it stood when the burst reached it, as
/// it is against the VM-wide meters.
struct PendingService {
    var slot: UnsafeMutablePointer<FixedTable<Baseline.Service>.Slot>?
    /// The service's damped 10 s count with this segment's packets, and how many they are.
    var count: Double = 0
    var packets = 0
    /// `RateMeter.settled`'s divisor while the meter is young; 0 once it is settled.
    var fill: Double = 0
    /// What a rate is divided by for its score (the learned peak's allowance).
    var denominator: Double = 1
    /// Size statistics when the service has enough packets to judge sizes by (`judgesSize`).
    var judgesSize = false
    var mean: Double = 0
    var spread: Double = 1
    /// Whether a peak is raised to the corrected rate rather than the count (`Segment.peakCount`).
    var settledPeak = false
    /// Learned by the segment: packets, those that teach sizes and their sizes, and what the
    /// last one may raise the peak to.
    var learned = 0
    var sized = 0
    var sizeSum: Double = 0
    var sizeSquares: Double = 0
    var rate: Double = 0

    /// The service rate with one more packet counted.
    @inline(__always) mutating func countPacket() -> Double {
        count += 1
        packets &+= 1
        return fill == 0 ? count : count / fill
    }
}

/// A few pending services per VM, in memory allocated once: a burst rarely reaches more.
struct PendingServices {
    static let capacity = 4
    let entries: UnsafeMutablePointer<PendingService>
    var count = 0

    init() {
        entries = .allocate(capacity: PendingServices.capacity)
        entries.initialize(repeating: PendingService(), count: PendingServices.capacity)
    }

    func deallocate() { entries.deallocate() }

    /// The pending entry of `slot`, or nil.
    @inline(__always) func entry(_ slot: UnsafeMutablePointer<FixedTable<Baseline.Service>.Slot>) -> UnsafeMutablePointer<PendingService>? {
        var i = 0
        while i < count {
            if entries[i].slot == slot { return entries + i }
            i &+= 1
        }
        return nil
    }
}

extension Detector {
    /// The pending entry of a known service, opened at the service's first packet in the segment.
    @inline(__always)
    mutating func pendingService(_ svc: UnsafeMutablePointer<FixedTable<Baseline.Service>.Slot>, segment seg: Segment,
                                 settings s: DetectionSettings) -> UnsafeMutablePointer<PendingService> {
        if let e = pending.entry(svc) { return e }
        let t = seg.t
        if pending.count == PendingServices.capacity { flushServices(seg) }
        let e = pending.entries + pending.count
        pending.count &+= 1
        let v = svc.pointee.value
        var fresh = PendingService()
        fresh.slot = svc
        fresh.count = v.rate.at(t, halfLifeNs: HalfLife.short)
        fresh.fill = v.rate.fill(at: t, halfLifeNs: HalfLife.short)
        fresh.denominator = s.rateFactor * v.peak + s.rateFloor
        // `Segment.peakCount` once the meter has started (the first packet starts it at `t`).
        let start = v.rate.startNs != 0 ? v.rate.startNs : (t == 0 ? 1 : t)
        fresh.settledPeak = seg.learningEndNs > start && seg.learningEndNs - start < HalfLife.short &* 16
        if v.packets >= 8 {
            fresh.judgesSize = true
            fresh.mean = v.size.mean
            fresh.spread = Detector.sizeSpread(v.size)
        }
        e.pointee = fresh
        return e
    }

    /// Writes what the pending services' packets counted and taught into the baseline.
    @inline(__always)
    mutating func flushServices(_ seg: Segment) {
        let t = seg.t
        var i = 0
        while i < pending.count {
            let e = pending.entries + i
            i &+= 1
            guard let svc = e.pointee.slot, e.pointee.packets > 0 else { continue }
            svc.pointee.value.rate.set(e.pointee.count, at: t)
            let n = e.pointee.learned
            if n == 0 { continue }
            svc.pointee.lastNs = t
            svc.pointee.value.packets &+= UInt64(n)
            // Peaks come from normal traffic only, and grow slowly after learning.
            Detector.raise(&svc.pointee.value.peak, &svc.pointee.value.peakAt, to: e.pointee.rate, t: t, learning: seg.learning)
            if e.pointee.sized > 0 {
                svc.pointee.value.size.merge(count: Double(e.pointee.sized), sum: e.pointee.sizeSum, squares: e.pointee.sizeSquares,
                                             at: t, halfLifeNs: HalfLife.size)
            }
        }
        pending.count = 0
    }
}
