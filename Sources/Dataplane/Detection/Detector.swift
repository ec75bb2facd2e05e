import CDPDK

/// Scores one VM's outgoing packets against its baseline and keeps the baseline learning from
/// traffic judged normal. One per VM, owned by the worker that polls the VM.
public struct Detector {
    public var baseline = Baseline()
    public var shortTerm = ShortTerm()
    /// DNS names, prefixes, habits, the calibrated threshold, the incoming rate.
    public var context = DetectionContext()
    /// Per-VM sensitivity; nil uses the global one.
    public var sensitivity: Double?

    public init() {}

    public func deallocate() {
        baseline.deallocate()
        shortTerm.deallocate()
        context.deallocate()
    }

    public mutating func reset() {
        baseline.reset()
        shortTerm.reset()
        context.reset()
    }

    /// Takes `other`'s baseline and sensitivity; short-term state starts afresh.
    public mutating func copyContents(of other: Detector) {
        baseline.copyContents(of: other.baseline)
        sensitivity = other.sensitivity
        context.copyLearned(of: other.context)
        shortTerm.reset()
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

    /// Judges the packet at time `t` (capture or TSC time) and updates the state.
    @inline(__always)
    public mutating func evaluate(_ p: UnsafePointer<bma_pkt_t>, at t: UInt64, settings s: DetectionSettings,
                                  sensitivity override: Double? = nil) -> Verdict {
        var v = Verdict()
        if baseline.firstNs == 0 { baseline.firstNs = t == 0 ? 1 : t }
        let learning = t &- baseline.firstNs < s.learningNs || t < baseline.firstNs
        v.learning = learning

        let service = serviceKey(p)
        let host = Detector.hostKey(p)
        let dest = Detector.destinationKey(host, service)
        let size = packetSize(p)
        let cls = protocolClass(p)

        let hk = p.pointee.housekeeping
        let svc = baseline.services.find(service, 0)
        let where_ = destination(p, host: host, at: t, settings: s)
        let knownHost = where_.known
        let knownDest = knownPair(where_, dest, service: service)

        // Short-term detectors see every packet.
        var fanOut = shortTerm.newHosts.at(t, halfLifeNs: HalfLife.short)
        var newPorts = 0.0
        if !knownHost || !knownDest {
            var inserted = false
            let rh = shortTerm.recentHosts.findOrInsert(host.0, host.1, at: t, empty: RateMeter(), inserted: &inserted)
            if !knownHost && (inserted || t &- rh.pointee.lastNs > HalfLife.recent) {
                fanOut = shortTerm.newHosts.add(1, at: t, halfLifeNs: HalfLife.short)
            }
            rh.pointee.lastNs = t
            if !knownDest {
                var fresh = false
                let rd = shortTerm.recentDestinations.findOrInsert(dest.0, dest.1, at: t, empty: 0, inserted: &fresh)
                if fresh || t &- rd.pointee.lastNs > HalfLife.recent {
                    newPorts = rh.pointee.value.add(1, at: t, halfLifeNs: HalfLife.short)
                } else {
                    newPorts = rh.pointee.value.at(t, halfLifeNs: HalfLife.short)
                }
                rd.pointee.lastNs = t
            }
        }
        // Rates are damped 10 s counts, corrected while their meter is young (see RateMeter.settled).
        let vmRaw = baseline.packetRates.1.add(1, at: t, halfLifeNs: HalfLife.tenSeconds, paired: &baseline.byteRates.1, size)
        let vmRate = baseline.packetRates.1.settled(vmRaw, at: t, halfLifeNs: HalfLife.tenSeconds)
        _ = baseline.packetRates.0.add(1, at: t, halfLifeNs: HalfLife.oneSecond, paired: &baseline.byteRates.0, size)
        _ = baseline.packetRates.2.add(1, at: t, halfLifeNs: HalfLife.oneMinute, paired: &baseline.byteRates.2, size)
        _ = baseline.packetRates.3.add(1, at: t, halfLifeNs: HalfLife.tenMinutes, paired: &baseline.byteRates.3, size)
        let classRate = withElement(&baseline.classRates, cls, RateMeter.self) {
            $0.settled($0.add(1, at: t, halfLifeNs: HalfLife.short), at: t, halfLifeNs: HalfLife.short)
        }
        var serviceRate = 0.0
        if let svc {
            let raw = svc.pointee.value.rate.add(1, at: t, halfLifeNs: HalfLife.short)
            serviceRate = svc.pointee.value.rate.settled(raw, at: t, halfLifeNs: HalfLife.short)
        }

        // Scores, each normalised to 1 at its threshold.
        let sens = override ?? sensitivity ?? s.sensitivity
        let threshold = context.calibration.threshold
        var score = 0.0
        var reasons = Reason(rawValue: 0)
        var sub = SubScores()
        @inline(__always) func consider(_ x: Double, _ r: Reason) {
            sub.note(x, r)
            if x > score { score = x }
            if x * sens >= threshold { reasons.insert(r) }
        }
        // Housekeeping is judged by rate and fan-out, not by the novelty of one packet.
        if !knownHost && hk == 0 { consider(where_.prefixKnown ? s.newDestinationScore / 2 : s.newDestinationScore, .newDestination) }
        if svc == nil && hk == 0 { consider(s.newServiceScore, .newService) }
        let allowance = hk != 0 ? answerAllowance(p, at: t) : 0
        consider(fanOut / s.fanOutLimit, .fanOut)
        consider(newPorts / s.portScanLimit, .portScan)
        consider(vmRate / (s.rateFactor * baseline.peak10 + s.rateFloor), .rateSpike)
        if let svc {
            consider(serviceRate / (s.rateFactor * svc.pointee.value.peak + s.rateFloor + s.rateFactor * allowance), .rateSpike)
            let st = svc.pointee.value.size
            if svc.pointee.value.packets >= 8 {
                let m = st.mean
                let spread = max(max(st.std, 0.1 * m), 8) // two-argument max: the variadic one builds an array
                consider(abs(size - m) / spread / s.sizeDeviations, .sizeOutlier)
            }
        }
        let classPeak = element(baseline.classPeaks, cls, Double.self)
        consider(classRate / (s.rateFactor * classPeak + s.rateFloor + s.rateFactor * allowance), .protocolShift)

        v.score = score
        v.scores = sub
        v.threshold = threshold
        let flagged = score * sens >= threshold
        // The threshold calibrates on the last half of learning and on normal traffic after it.
        if learning {
            if t &- baseline.firstNs >= s.learningNs / 2 { context.observe(score * sens, target: s.targetMirrorRate) }
        }
        // Weak novelty (a new destination or service, an odd size) that keeps coming back over
        // hours or days is a habit, not an attack.
        let strong = reasons.isStrong
        if !learning && flagged && reasons.rawValue & ~Reason.habitual.rawValue == 0 {
            let k = Detector.habitKey(reasons, where_, dest: dest, service: service, size: size)
            if context.habits.sighting(k.0, k.1, at: t, persistNs: s.promoteNs) {
                v.promoted = true
                context.habits.countLearned()
                if !baseline.frozen { learn(p, t: t, service: service, host: host, dest: dest, size: size, cls: cls,
                                            serviceRate: serviceRate, vmRate: vmRate, classRate: classRate, learning: false, where_: where_) }
                return v
            }
        }
        if !learning && flagged {
            v.anomalous = true
            if !knownHost && hk == 0 { reasons.insert(.newDestination) }
            if svc == nil && hk == 0 { reasons.insert(.newService) }
            v.reasons = reasons
            // Only strong deviations keep the host mirrored and send what led up to them.
            guard strong else { return v }
            v.trigger = shortTerm.lastAnomalyNs == 0 || t &- shortTerm.lastAnomalyNs > s.stickyNs
            shortTerm.lastAnomalyNs = t
            if s.stickyNs > 0 {
                var ins = false
                let sus = shortTerm.suspects.findOrInsert(host.0, host.1, at: t, empty: 0, inserted: &ins)
                sus.pointee.lastNs = t
                sus.pointee.value = t &+ s.stickyNs
            }
            return v
        }
        if !learning, let sus = shortTerm.suspects.find(host.0, host.1), sus.pointee.value >= t {
            v.sticky = true
            return v
        }
        if !learning { context.observe(score * sens, target: s.targetMirrorRate) }
        if !baseline.frozen { learn(p, t: t, service: service, host: host, dest: dest, size: size, cls: cls,
                                    serviceRate: serviceRate, vmRate: vmRate, classRate: classRate, learning: learning, where_: where_) }
        return v
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

    /// Takes a normal (or learning-period) packet into the baseline.
    @inline(__always)
    mutating func learn(_ p: UnsafePointer<bma_pkt_t>, t: UInt64, service: UInt64, host: (UInt64, UInt64),
                        dest: (UInt64, UInt64), size: Double, cls: Int, serviceRate: Double, vmRate: Double,
                        classRate: Double, learning: Bool, where_: Destination) {
        var inserted = false
        let svc = baseline.services.findOrInsert(service, 0, at: t, empty: Baseline.Service(), inserted: &inserted)
        svc.pointee.lastNs = t
        if inserted { _ = svc.pointee.value.rate.add(1, at: t, halfLifeNs: HalfLife.short) }
        svc.pointee.value.packets &+= 1
        // Peaks come from normal traffic only, and grow slowly after learning.
        Detector.raise(&svc.pointee.value.peak, &svc.pointee.value.peakAt, to: inserted ? 1 : serviceRate, t: t, learning: learning)
        svc.pointee.value.size.add(size, at: t, halfLifeNs: HalfLife.size)

        let h = baseline.hosts.findOrInsert(host.0, host.1, at: t, empty: Baseline.Host(), inserted: &inserted)
        h.pointee.lastNs = t
        h.pointee.value.packets &+= 1
        let d = baseline.destinations.findOrInsert(dest.0, dest.1, at: t, empty: Baseline.Destination(), inserted: &inserted)
        d.pointee.lastNs = t
        d.pointee.value.packets &+= 1
        learnNameAndPrefix(where_, service: service, at: t)

        Detector.raise(&baseline.peak10, &baseline.peak10At, to: vmRate, t: t, learning: learning)
        var classPeak = element(baseline.classPeaks, cls, Double.self)
        var classAt = element(baseline.classPeakAt, cls, UInt64.self)
        Detector.raise(&classPeak, &classAt, to: classRate, t: t, learning: learning)
        withElement(&baseline.classPeaks, cls, Double.self) { $0 = classPeak }
        withElement(&baseline.classPeakAt, cls, UInt64.self) { $0 = classAt }
        withElement(&baseline.classPackets, cls, UInt64.self) { $0 &+= 1 }
        baseline.size.add(size, at: t, halfLifeNs: HalfLife.size)
        let bucket = size < 64 ? 0 : size < 128 ? 1 : size < 256 ? 2 : size < 512 ? 3 : size < 1024 ? 4 : size < 1518 ? 5 : size < 9000 ? 6 : 7
        withElement(&baseline.sizeHistogram, bucket, UInt64.self) { $0 &+= 1 }
        baseline.learnedPackets &+= 1
    }
}
