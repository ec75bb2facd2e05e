import CDPDK

extension Detector {
    /// The full judgement: looks the packet's service and destination up (by address, by the DNS
    /// name it was resolved from, by prefix), keeps the short-term novelty detectors (fan-out,
    /// port scan) current, scores every deviation and names the reasons, turns weak novelty that
    /// keeps coming back into habits, handles stickiness, and learns from a normal packet.
    @inline(never)
    mutating func judgeFully(_ p: UnsafePointer<bma_pkt_t>, service: UInt64, host: (UInt64, UInt64), dest: (UInt64, UInt64),
                             segment seg: inout Segment, settings s: DetectionSettings, sensitivity sens: Double) -> Verdict {
        let t = seg.t
        let learning = seg.learning
        var v = Verdict()
        v.learning = learning
        let size = packetSize(p)
        let cls = protocolClass(p)
        let hk = p.pointee.housekeeping

        let svc = baseline.services.find(service, 0)
        let where_ = destination(p, host: host, at: t, settings: s)
        let knownHost = where_.known
        let knownDest = knownPair(where_, dest, service: service)

        // Short-term detectors see every packet.
        var newPorts = 0.0
        if !knownHost || !knownDest {
            var inserted = false
            let rh = shortTerm.recentHosts.findOrInsert(host.0, host.1, at: t, empty: RateMeter(), inserted: &inserted)
            if !knownHost && (inserted || t &- rh.pointee.lastNs > HalfLife.recent) {
                seg.setFanOut(shortTerm.newHosts.add(1, at: t, halfLifeNs: HalfLife.short), s)
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
        var serviceRate = 0.0
        if let svc {
            let raw = svc.pointee.value.rate.add(1, at: t, halfLifeNs: HalfLife.short)
            serviceRate = svc.pointee.value.rate.settled(raw, at: t, halfLifeNs: HalfLife.short)
        }

        // Scores, each normalised to 1 at its threshold.
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
        consider(seg.fanOut / s.fanOutLimit, .fanOut)
        consider(newPorts / s.portScanLimit, .portScan)
        consider(seg.vmRateScore, .rateSpike)
        if let svc {
            consider(serviceRate / (s.rateFactor * svc.pointee.value.peak + s.rateFloor + s.rateFactor * allowance), .rateSpike)
            if svc.pointee.value.packets >= 8 { consider(Detector.sizeScore(size, svc.pointee.value.size, s), .sizeOutlier) }
        }
        if allowance == 0 {
            consider(seg.classScore(cls), .protocolShift)
        } else {
            let peak = element(baseline.classPeaks, cls, Double.self)
            consider(seg.classRate(cls) / (s.rateFactor * peak + s.rateFloor + s.rateFactor * allowance), .protocolShift)
        }

        v.score = score
        v.scores = sub
        v.threshold = threshold
        let flagged = score * sens >= threshold
        if learning { observe(score * sens, segment: seg, settings: s) }
        // Weak novelty (a new destination or service, an odd size) that keeps coming back over
        // hours or days is a habit, not an attack.
        if !learning && flagged && reasons.rawValue & ~Reason.habitual.rawValue == 0 {
            let k = Detector.habitKey(reasons, where_, dest: dest, service: service, size: size)
            if context.habits.sighting(k.0, k.1, at: t, persistNs: s.promoteNs) {
                v.promoted = true
                context.habits.countLearned()
                if !baseline.frozen { learn(p, service: service, host: host, dest: dest, size: size, cls: cls, where_: where_,
                                            segment: &seg, settings: s) }
                return v
            }
        }
        if !learning && flagged {
            v.anomalous = true
            if !knownHost && hk == 0 { reasons.insert(.newDestination) }
            if svc == nil && hk == 0 { reasons.insert(.newService) }
            v.reasons = reasons
            // Only strong deviations keep the host mirrored and send what led up to them.
            guard reasons.isStrong else { return v }
            v.trigger = shortTerm.lastAnomalyNs == 0 || t &- shortTerm.lastAnomalyNs > s.stickyNs
            shortTerm.lastAnomalyNs = t
            if s.stickyNs > 0 { shortTerm.makeSuspect(host, at: t, until: t &+ s.stickyNs) }
            return v
        }
        if !learning && shortTerm.isSuspect(host, at: t) {
            v.sticky = true
            return v
        }
        if !learning { context.observe(score * sens, target: s.targetMirrorRate) }
        if !baseline.frozen {
            learn(p, service: service, host: host, dest: dest, size: size, cls: cls, where_: where_, segment: &seg, settings: s)
        } else if let svc, let hostSlot = baseline.hosts.find(host.0, host.1), let destSlot = baseline.destinations.find(dest.0, dest.1) {
            hints.remember(p.pointee.flow_hash, service: baseline.services.index(of: svc),
                           host: baseline.hosts.index(of: hostSlot), destination: baseline.destinations.index(of: destSlot))
        }
        return v
    }
}
