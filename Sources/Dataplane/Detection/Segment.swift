import CDPDK

/// Packet counts per protocol class (see `protocolClass`).
public struct ClassCounts {
    var counts: (Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0)

    public init() {}

    @inline(__always) mutating func add(_ cls: Int, _ n: Int = 1) {
        withElement(&counts, cls, Int.self) { $0 &+= n }
    }

    @inline(__always) func count(_ cls: Int) -> Int { element(counts, cls, Int.self) }
}

/// A run of one VM's outgoing packets that share one timestamp: a whole burst live (one TSC
/// read per poll), a single packet in a replay (capture times differ). The VM-wide meters are
/// updated once for the whole run, so every packet of it is judged against the same VM-wide
/// rates, and what the run teaches the VM-wide statistics is applied once, at its end.
public struct Segment {
    public let t: UInt64
    public let learning: Bool
    /// Damped 10 s packet count of the VM (corrected while young) and its share of the threshold.
    var vmRate: Double = 0
    var vmRateScore: Double = 0
    /// After learning, the VM's count is half-way to a rate spike: its packets teach no sizes.
    var vmSpiking = false
    /// Damped count of new hosts (fan-out); slow-path packets that add a host raise it through
    /// `setFanOut`, which keeps `vmScores` current.
    private(set) var fanOut: Double = 0
    var classRates: (Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0)
    var classScores: (Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0)
    /// The VM-wide part of a packet's score per protocol class (`vmScore`), taken once per
    /// segment and whenever the fan-out changes, not per packet.
    var vmScores: (Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0)
    /// What the VM's and each class's learned peak may be raised to (see `peakCount`).
    var vmPeakCount: Double = 0
    var classPeakCounts: (Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0)
    /// Learned by the run, applied by `Detector.end`.
    var learned = ClassCounts()
    var learnedCount = 0
    var sizeSum: Double = 0
    var sizeSquares: Double = 0

    /// During learning, when it ends (saturating); 0 afterwards (see `peakCount`).
    var learningEndNs: UInt64 = 0

    init(t: UInt64, learning: Bool) {
        self.t = t
        self.learning = learning
    }

    /// The count a learned peak may be raised to: what the meter observed at `t`. Only during
    /// a learning period too short to see the meter settle (it ends before the meter has run 16
    /// half-lives) the count corrected while young, as a steady rate would show it: elsewhere a
    /// burst right after the meter started is not read as a rate that lasted.
    @inline(__always) static func peakCount(_ m: RateMeter, at t: UInt64, halfLifeNs: UInt64, learningEndNs: UInt64) -> Double {
        if learningEndNs > m.startNs && learningEndNs - m.startNs < halfLifeNs &* 16 {
            return m.settled(m.value, at: t, halfLifeNs: halfLifeNs)
        }
        return m.value
    }

    @inline(__always) func classRate(_ cls: Int) -> Double { element(classRates, cls, Double.self) }
    @inline(__always) func classScore(_ cls: Int) -> Double { element(classScores, cls, Double.self) }

    /// The VM-wide part of a packet's score: rate, fan-out and its protocol class. Read in place
    /// (a tuple passed by value would be copied to the stack to be indexed).
    @inline(__always) mutating func vmScore(_ cls: Int) -> Double {
        withElement(&vmScores, cls, Double.self) { $0 }
    }

    /// Sets the fan-out and the VM-wide scores that depend on it.
    @inline(__always) mutating func setFanOut(_ x: Double, _ s: DetectionSettings) {
        fanOut = x
        let base = max(vmRateScore, fanOut / s.fanOutLimit)
        vmScores = (max(base, classScores.0), max(base, classScores.1), max(base, classScores.2),
                    max(base, classScores.3), max(base, classScores.4))
    }

    @inline(__always) mutating func learn(_ cls: Int, size: Double) {
        count(cls)
        sizeSum += size
        sizeSquares += size * size
    }

    /// A normal packet that teaches its class and the peaks but no size (see `learnKnown`).
    @inline(__always) mutating func count(_ cls: Int) {
        learned.add(cls)
        learnedCount &+= 1
    }
}

extension Detector {
    /// Starts a segment of `packets` outgoing packets at `t` carrying `bytes` (sizes as
    /// `packetSize`), with `classes` their protocol classes: updates every VM-wide meter once.
    @inline(__always)
    public mutating func begin(at t: UInt64, packets: Int, bytes: Double, classes: ClassCounts,
                               settings s: DetectionSettings) -> Segment {
        if baseline.firstNs == 0 { baseline.firstNs = t == 0 ? 1 : t }
        var seg = Segment(t: t, learning: t &- baseline.firstNs < s.learningNs || t < baseline.firstNs)
        if seg.learning {
            let end = baseline.firstNs.addingReportingOverflow(s.learningNs)
            seg.learningEndNs = end.overflow ? .max : end.partialValue
        }
        let n = Double(packets)
        let raw = baseline.packetRates.1.add(n, at: t, halfLifeNs: HalfLife.tenSeconds, paired: &baseline.byteRates.1, bytes)
        seg.vmRate = baseline.packetRates.1.settled(raw, at: t, halfLifeNs: HalfLife.tenSeconds)
        seg.vmPeakCount = Segment.peakCount(baseline.packetRates.1, at: t, halfLifeNs: HalfLife.tenSeconds, learningEndNs: seg.learningEndNs)
        _ = baseline.packetRates.0.add(n, at: t, halfLifeNs: HalfLife.oneSecond, paired: &baseline.byteRates.0, bytes)
        _ = baseline.packetRates.2.add(n, at: t, halfLifeNs: HalfLife.oneMinute, paired: &baseline.byteRates.2, bytes)
        _ = baseline.packetRates.3.add(n, at: t, halfLifeNs: HalfLife.tenMinutes, paired: &baseline.byteRates.3, bytes)
        seg.vmRateScore = seg.vmRate / (s.rateFactor * baseline.peak10 + s.rateFloor)
        seg.vmSpiking = !seg.learning && seg.vmRateScore >= 0.5
        for cls in 0..<5 {
            let k = classes.count(cls)
            if k == 0 { continue }
            let end = seg.learningEndNs
            var peakCount = 0.0
            let rate = withElement(&baseline.classRates, cls, RateMeter.self) {
                let observed = $0.add(Double(k), at: t, halfLifeNs: HalfLife.short)
                peakCount = Segment.peakCount($0, at: t, halfLifeNs: HalfLife.short, learningEndNs: end)
                return $0.settled(observed, at: t, halfLifeNs: HalfLife.short)
            }
            let peak = element(baseline.classPeaks, cls, Double.self)
            withElement(&seg.classRates, cls, Double.self) { $0 = rate }
            withElement(&seg.classPeakCounts, cls, Double.self) { $0 = peakCount }
            withElement(&seg.classScores, cls, Double.self) { $0 = rate / (s.rateFactor * peak + s.rateFloor) }
        }
        seg.setFanOut(shortTerm.newHosts.at(t, halfLifeNs: HalfLife.short), s)
        return seg
    }

    /// Ends a segment: what its normal packets taught the VM-wide statistics.
    @inline(__always)
    public mutating func end(_ seg: inout Segment) {
        if pending.count > 0 { flushServices(seg) }
        guard seg.learnedCount > 0 else { return }
        let t = seg.t
        Detector.raise(&baseline.peak10, &baseline.peak10At, to: seg.vmPeakCount, t: t, learning: seg.learning)
        for cls in 0..<5 {
            let k = seg.learned.count(cls)
            if k == 0 { continue }
            var peak = element(baseline.classPeaks, cls, Double.self)
            var at = element(baseline.classPeakAt, cls, UInt64.self)
            Detector.raise(&peak, &at, to: element(seg.classPeakCounts, cls, Double.self), t: t, learning: seg.learning)
            withElement(&baseline.classPeaks, cls, Double.self) { $0 = peak }
            withElement(&baseline.classPeakAt, cls, UInt64.self) { $0 = at }
            withElement(&baseline.classPackets, cls, UInt64.self) { $0 &+= UInt64(k) }
        }
        baseline.size.merge(count: Double(seg.learnedCount), sum: seg.sizeSum, squares: seg.sizeSquares,
                            at: t, halfLifeNs: HalfLife.size)
        baseline.learnedPackets &+= UInt64(seg.learnedCount)
        seg.learnedCount = 0
        seg.learned = ClassCounts()
        seg.sizeSum = 0
        seg.sizeSquares = 0
    }
}
