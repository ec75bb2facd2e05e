import CDPDK

/// Scores one VM's outgoing packets against its baseline and keeps the baseline learning from
/// traffic judged normal. One per VM, owned by the worker that polls the VM.
///
/// The packet path judges segments (see `Segment`): `begin` once, `judge` per packet, `end`
/// once. A packet of a flow whose service, host and (host, service) pair are all in the
/// baseline takes the known-flow path through its flow hint; anything else, and any packet that
/// may deviate, takes the full path, which names the reasons.
public struct Detector {
    public var baseline = Baseline()
    public var shortTerm = ShortTerm()
    public var hints = FlowHints()
    /// DNS names, prefixes, habits, the calibrated threshold, the incoming rate.
    public var context = DetectionContext()
    /// Known services a segment reached, written back when it ends.
    var pending = PendingServices()
    /// Per-VM sensitivity; nil uses the global one.
    public var sensitivity: Double?

    public init() {}

    public func deallocate() {
        baseline.deallocate()
        shortTerm.deallocate()
        hints.deallocate()
        context.deallocate()
        pending.deallocate()
    }

    public mutating func reset() {
        baseline.reset()
        shortTerm.reset()
        hints.clear()
        context.reset()
        pending.count = 0
    }

    /// Takes `other`'s baseline and sensitivity; short-term state starts afresh.
    public mutating func copyContents(of other: Detector) {
        baseline.copyContents(of: other.baseline)
        sensitivity = other.sensitivity
        context.copyLearned(of: other.context)
        shortTerm.reset()
        hints.clear()
        pending.count = 0
    }

    @inline(__always) static func hostKey(_ p: UnsafePointer<bma_pkt_t>) -> (UInt64, UInt64) {
        let l3 = p.pointee.l3
        if l3 == UInt8(BMA_L3_IPV4) || l3 == UInt8(BMA_L3_IPV6) || l3 == UInt8(BMA_L3_ARP) {
            return (p.pointee.dst_ip_hi, p.pointee.dst_ip_lo)
        }
        return (0xFFFF_0000_0000_0000 | p.pointee.dst_mac, 0)
    }

    @inline(__always) static func destinationKey(_ host: (UInt64, UInt64), _ service: UInt64) -> (UInt64, UInt64) {
        (host.0 ^ (service &* 0x9E37_79B9_7F4A_7C15), host.1 ^ service)
    }

    /// Judges one packet at time `t` as a segment of its own (tests and tools; the packet path
    /// judges whole segments).
    public mutating func evaluate(_ p: UnsafePointer<bma_pkt_t>, at t: UInt64, settings s: DetectionSettings,
                                  sensitivity override: Double? = nil) -> Verdict {
        var classes = ClassCounts()
        classes.add(protocolClass(p))
        var seg = begin(at: t, packets: 1, bytes: packetSize(p), classes: classes, settings: s)
        let v = judge(p, segment: &seg, settings: s, sensitivity: override ?? sensitivity ?? s.sensitivity)
        end(&seg)
        return v
    }

    /// Judges the packets `pkts[index[q]]` for q in `range` (a segment, no policy in the way)
    /// into `verdicts[q]`. One call per segment: the per-packet judgement inlines into the loop.
    @inline(never)
    mutating func judge(_ pkts: UnsafePointer<bma_pkt_t>, _ index: UnsafePointer<Int32>, _ range: Range<Int>,
                        into verdicts: UnsafeMutablePointer<Verdict>, segment seg: inout Segment,
                        settings s: DetectionSettings, sensitivity sens: Double) {
        let ahead = 3
        var q = range.lowerBound
        while q < range.upperBound {
            // The hint set of a packet a few ahead: its cache line is in by the time it is judged.
            if q &+ ahead < range.upperBound { hints.prefetch(pkts[Int(index[q &+ ahead])].flow_hash) }
            judge(pkts + Int(index[q]), into: verdicts + q, segment: &seg, settings: s, sensitivity: sens)
            q &+= 1
        }
    }

    /// Judges a packet of `seg` (its time is the segment's) and updates the state.
    @inline(__always)
    public mutating func judge(_ p: UnsafePointer<bma_pkt_t>, segment seg: inout Segment, settings s: DetectionSettings,
                               sensitivity sens: Double) -> Verdict {
        var v = Verdict()
        judge(p, into: &v, segment: &seg, settings: s, sensitivity: sens)
        return v
    }

    /// Judges a packet of `seg` into `out`, written in place: a verdict is larger than the
    /// registers that return values, and copying it through the stack costs more than judging.
    @inline(__always)
    mutating func judge(_ p: UnsafePointer<bma_pkt_t>, into out: UnsafeMutablePointer<Verdict>, segment seg: inout Segment,
                        settings s: DetectionSettings, sensitivity sens: Double) {
        let service = serviceKey(p)
        let host = Detector.hostKey(p)
        let dest = Detector.destinationKey(host, service)
        // Housekeeping is judged by rate with an allowance for answers: the full path.
        if p.pointee.housekeeping == 0, let hint = hints.hint(p.pointee.flow_hash) {
            let svc = baseline.services.slot(hint.pointee.service)
            let h = baseline.hosts.slot(hint.pointee.host)
            let d = baseline.destinations.slot(hint.pointee.destination)
            if svc.pointee.holds(service, 0) && h.pointee.holds(host.0, host.1) && d.pointee.holds(dest.0, dest.1),
               judgeKnown(p, hostKey: host, service: svc, host: h, destination: d, into: out, segment: &seg, settings: s, sensitivity: sens) {
                return
            }
        }
        // The full path reads and changes services: what is pending goes in first.
        if pending.count > 0 { flushServices(seg) }
        out.pointee = judgeFully(p, service: service, host: host, dest: dest, segment: &seg, settings: s, sensitivity: sens)
    }

    /// A packet whose service, host and (host, service) pair are all learned by address: nothing
    /// novel, so only rates and size can deviate. Returns nil, having changed nothing, when the
    /// packet may deviate or its host is sticky: the full path then judges it and names the
    /// reasons. The name and prefix entries of the destination are refreshed by the full path
    /// (each new flow's first packet), not here. The service's part is pending until the
    /// segment ends (see `PendingService`). Writes the verdict into `out` and returns true when
    /// it judged the packet.
    @inline(__always)
    mutating func judgeKnown(_ p: UnsafePointer<bma_pkt_t>, hostKey: (UInt64, UInt64), service svc: UnsafeMutablePointer<FixedTable<Baseline.Service>.Slot>,
                             host h: UnsafeMutablePointer<FixedTable<Baseline.Host>.Slot>,
                             destination d: UnsafeMutablePointer<FixedTable<Baseline.Destination>.Slot>,
                             into out: UnsafeMutablePointer<Verdict>,
                             segment seg: inout Segment, settings s: DetectionSettings, sensitivity sens: Double) -> Bool {
        let t = seg.t
        let cls = protocolClass(p)
        let size = packetSize(p)
        let e = pendingService(svc, segment: seg, settings: s)
        let fill = e.pointee.fill
        let count = e.pointee.count + 1
        let serviceRate = fill == 0 ? count : count / fill
        var score = max(seg.vmScore(cls), serviceRate / e.pointee.denominator)
        if e.pointee.judgesSize { score = max(score, abs(size - e.pointee.mean) / e.pointee.spread / s.sizeDeviations) }
        if !seg.learning {
            if score * sens >= context.calibration.threshold { return false }
            // While some host is sticky, only that host's packets need the full path.
            if shortTerm.isSuspect(hostKey, at: t) { return false }
        }
        e.pointee.count = count
        e.pointee.packets &+= 1
        observe(score * sens, segment: seg, settings: s)
        if !baseline.frozen {
            // As `learnService`: the count a peak may be raised to, and whether a spike develops.
            let peakCount = e.pointee.settledPeak ? serviceRate : count
            let spiking = seg.vmSpiking || (!seg.learning && 2 * peakCount >= e.pointee.denominator)
            e.pointee.learned &+= 1
            e.pointee.rate = peakCount
            if !spiking {
                e.pointee.sized &+= 1
                e.pointee.sizeSum += size
                e.pointee.sizeSquares += size * size
            }
            learnKnown(host: h, destination: d, size: size, cls: cls, spiking: spiking, segment: &seg)
        }
        out.initialize(to: Verdict())
        out.pointee.score = score
        out.pointee.threshold = context.calibration.threshold
        out.pointee.learning = seg.learning
        return true
    }

    /// The threshold calibrates on the last half of learning and on normal traffic after it.
    @inline(__always)
    mutating func observe(_ x: Double, segment seg: Segment, settings s: DetectionSettings) {
        if !seg.learning || seg.t &- baseline.firstNs >= s.learningNs / 2 { context.observe(x, target: s.targetMirrorRate) }
    }

    /// How far a size is from the service's mean, 1 at the threshold.
    @inline(__always) static func sizeScore(_ size: Double, _ st: DampedStats, _ s: DetectionSettings) -> Double {
        abs(size - st.mean) / sizeSpread(st) / s.sizeDeviations
    }

    /// The spread sizes are measured in: the deviation, at least a tenth of the mean and 8 bytes.
    @inline(__always) static func sizeSpread(_ st: DampedStats) -> Double {
        max(max(st.std, 0.1 * st.mean), 8) // two-argument max: the variadic one builds an array
    }

    /// Raises a learned peak. During learning it is the largest rate seen; afterwards it may grow
    /// by at most a factor e per `HalfLife.peakGrowth`, so a flood that ramps up packet by packet
    /// cannot drag the peak along with it (each packet is judged against the peak before it).
    @inline(__always)
    static func raise(_ peak: inout Double, _ at: inout UInt64, to rate: Double, t: UInt64, learning: Bool) {
        if learning || peak == 0 {
            if rate > peak { peak = rate }
        } else if rate > peak {
            let dt = t > at ? Double(t - at) : 0
            peak = min(rate, peak * (1 + dt / Double(HalfLife.peakGrowth)))
        }
        at = t
    }
}
