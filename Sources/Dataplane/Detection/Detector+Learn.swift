import CDPDK

extension Detector {
    /// Takes a normal (or learning-period) packet into the baseline, inserting what is new (its
    /// address, and the name and prefix it is known by), and remembers where its entries are for
    /// the next packets of its flow.
    @inline(__always)
    mutating func learn(_ p: UnsafePointer<bma_pkt_t>, service: UInt64, host: (UInt64, UInt64), dest: (UInt64, UInt64),
                        size: Double, cls: Int, where_: Destination, segment seg: inout Segment, settings s: DetectionSettings) {
        let t = seg.t
        var inserted = false
        let svc = baseline.services.findOrInsert(service, 0, at: t, empty: Baseline.Service(), inserted: &inserted)
        // A new service starts its rate with this packet.
        if inserted { _ = svc.pointee.value.rate.add(1, at: t, halfLifeNs: HalfLife.short) }
        let h = baseline.hosts.findOrInsert(host.0, host.1, at: t, empty: Baseline.Host(), inserted: &inserted)
        let d = baseline.destinations.findOrInsert(dest.0, dest.1, at: t, empty: Baseline.Destination(), inserted: &inserted)
        let spiking = learnService(svc, size: size, segment: seg, settings: s)
        learnKnown(host: h, destination: d, size: size, cls: cls, spiking: spiking, segment: &seg)
        learnNameAndPrefix(where_, service: service, at: t)
        hints.remember(p.pointee.flow_hash, service: baseline.services.index(of: svc), host: baseline.hosts.index(of: h),
                       destination: baseline.destinations.index(of: d))
    }

    /// Takes a normal packet into its service, now (the full path; the known-flow path gathers
    /// the same per segment, see `PendingService`). The service's rate meter already counts it.
    /// Returns whether the packet is part of a developing spike: after learning, its service's or
    /// the VM's rate is half-way to a rate spike (half the count that scores 1, so beyond the
    /// learned peak). Such a packet may raise the peak (slowly) but teaches no size, so a flood
    /// that is not flagged yet does not reshape what the service's packets look like.
    @inline(__always)
    mutating func learnService(_ svc: UnsafeMutablePointer<FixedTable<Baseline.Service>.Slot>, size: Double,
                               segment seg: Segment, settings s: DetectionSettings) -> Bool {
        let t = seg.t
        svc.pointee.lastNs = t
        svc.pointee.value.packets &+= 1
        // Peaks come from normal traffic only, and grow slowly after learning.
        let count = Segment.peakCount(svc.pointee.value.rate, at: t, halfLifeNs: HalfLife.short, learningEndNs: seg.learningEndNs)
        let spiking = seg.vmSpiking || (!seg.learning && 2 * count >= s.rateFactor * svc.pointee.value.peak + s.rateFloor)
        Detector.raise(&svc.pointee.value.peak, &svc.pointee.value.peakAt, to: count, t: t, learning: seg.learning)
        if !spiking { svc.pointee.value.size.add(size, at: t, halfLifeNs: HalfLife.size) }
        return spiking
    }

    /// Takes a normal packet into its host and (host, service) entries, and unless it is part of
    /// a developing spike into the size histogram. VM-wide statistics are collected in the
    /// segment and applied by `end`.
    @inline(__always)
    mutating func learnKnown(host h: UnsafeMutablePointer<FixedTable<Baseline.Host>.Slot>,
                             destination d: UnsafeMutablePointer<FixedTable<Baseline.Destination>.Slot>,
                             size: Double, cls: Int, spiking: Bool, segment seg: inout Segment) {
        let t = seg.t
        h.pointee.lastNs = t
        h.pointee.value.packets &+= 1
        d.pointee.lastNs = t
        d.pointee.value.packets &+= 1
        if spiking {
            seg.count(cls)
            return
        }
        let bucket = size < 64 ? 0 : size < 128 ? 1 : size < 256 ? 2 : size < 512 ? 3 : size < 1024 ? 4 : size < 1518 ? 5 : size < 9000 ? 6 : 7
        withElement(&baseline.sizeHistogram, bucket, UInt64.self) { $0 &+= 1 }
        seg.learn(cls, size: size)
    }
}
