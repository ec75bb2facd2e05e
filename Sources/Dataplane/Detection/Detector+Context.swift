import CDPDK

/// The detector's use of its context: destinations known by name or prefix, housekeeping
/// judged by rate, habits, the calibrated threshold and strength. Kept apart from the scoring
/// core so that each rule reads on its own.
extension Detector {
    /// How well the destination is known: its address or the DNS name it was resolved from is in
    /// the baseline (known), or only its prefix is (`prefixKnown`, a weaker known-ness).
    struct Destination {
        var host: (UInt64, UInt64)
        /// The DNS name key of the destination (DestinationKey.name), or nil.
        var name: (UInt64, UInt64)?
        var prefix: (UInt64, UInt64)
        var known: Bool
        var prefixKnown: Bool
    }

    // `mutating` although it changes nothing: called from a mutating judgement, a non-mutating
    // method gets a copy of the whole detector (about 1.2 kB) per call.
    @inline(__always)
    mutating func destination(_ p: UnsafePointer<bma_pkt_t>, host: (UInt64, UInt64), at t: UInt64, settings s: DetectionSettings) -> Destination {
        let l3 = p.pointee.l3
        let ip = l3 == UInt8(BMA_L3_IPV4) || l3 == UInt8(BMA_L3_IPV6)
        var d = Destination(host: host, name: nil, prefix: (0, 0), known: baseline.hosts.find(host.0, host.1) != nil, prefixKnown: false)
        guard ip else { return d }
        let n = context.names.name(host.0, host.1, at: t)
        if n != 0 {
            let k = DestinationKey.name(n)
            d.name = k
            if !d.known { d.known = baseline.hosts.find(k.0, k.1) != nil }
        }
        d.prefix = DestinationKey.prefix(host.0, host.1, v4Bits: s.prefixV4Bits, v6Bits: s.prefixV6Bits)
        if !d.known && d.prefix != (0, 0) { d.prefixKnown = context.prefixes.find(d.prefix.0, d.prefix.1) != nil }
        return d
    }

    /// Whether the (destination, service) pair is known by address or by name.
    @inline(__always)
    mutating func knownPair(_ d: Destination, _ dest: (UInt64, UInt64), service: UInt64) -> Bool {
        if baseline.destinations.find(dest.0, dest.1) != nil { return true }
        guard let n = d.name else { return false }
        let k = Detector.destinationKey(n, service)
        return baseline.destinations.find(k.0, k.1) != nil
    }

    /// Learns the destination's name and prefix next to its address.
    @inline(__always)
    mutating func learnNameAndPrefix(_ d: Destination, service: UInt64, at t: UInt64) {
        var inserted = false
        if let n = d.name {
            let h = baseline.hosts.findOrInsert(n.0, n.1, at: t, empty: Baseline.Host(), inserted: &inserted)
            h.pointee.lastNs = t
            h.pointee.value.packets &+= 1
            let k = Detector.destinationKey(n, service)
            let dd = baseline.destinations.findOrInsert(k.0, k.1, at: t, empty: Baseline.Destination(), inserted: &inserted)
            dd.pointee.lastNs = t
            dd.pointee.value.packets &+= 1
        }
        if d.prefix != (0, 0) {
            let pf = context.prefixes.findOrInsert(d.prefix.0, d.prefix.1, at: t, empty: 0, inserted: &inserted)
            pf.pointee.lastNs = t
            pf.pointee.value &+= 1
        }
    }

    /// The key under which weak novelty waits to become a habit: the (destination, service) pair
    /// (by name when known) for new destinations and services, the (service, size class) for an
    /// odd size.
    @inline(__always)
    static func habitKey(_ reasons: Reason, _ d: Destination, dest: (UInt64, UInt64), service: UInt64, size: Double) -> (UInt64, UInt64) {
        if reasons.contains(.sizeOutlier) && !reasons.contains(.newService) {
            // log2 size classes: 64, 128, 256, ... bytes.
            let cls = UInt64(max(Int(Double(max(size, 1)).exponent), 0))
            return (service | 1 << 63, cls)
        }
        if let n = d.name { return destinationKey(n, service) }
        return dest
    }

    /// What answers add to a rate threshold: answers (echo replies, ICMP errors, ARP replies,
    /// neighbour advertisements) follow what the VM receives, so what it received lately (a 10 s
    /// damped count, judged with the same factor as a learned peak) is allowed on top of it.
    @inline(__always)
    mutating func answerAllowance(_ p: UnsafePointer<bma_pkt_t>, at t: UInt64) -> Double {
        Housekeeping.isAnswer(p) ? context.incoming.count(at: t) : 0
    }
}
