import CDPDK

/// What the mirror path can carry, read once at startup: how many segments one copy may have on
/// the mirror port, and whether the port's MTU carries encapsulated copies of the largest frames
/// the VM and uplink ports can deliver. Copies are sent whole either way (the port sends frames
/// past its MTU); a path with a smaller MTU drops them on the way, so bmad says so at startup.
enum MirrorPathCheck {
    /// The largest frame looked at: a 9,000-byte MTU, the Ethernet header and one VLAN tag.
    static let jumboFrame: UInt32 = 9018

    /// Sets `encap.max_segs` from the mirror port.
    static func limitSegments(_ encap: inout bma_encap_t, mirrorPort: UInt16) {
        var l = bma_port_limits_t()
        if bma_port_limits(mirrorPort, &l) == 0 { encap.max_segs = UInt16(clamping: l.nb_seg_max) }
    }

    /// The MTU the mirror port needs to carry a `frame`-byte copy encapsulated as `encap`.
    static func neededMTU(frame: UInt32, encap: bma_encap_t) -> UInt32 {
        var e = encap
        return frame + bma_encap_header_len(&e) - 14
    }

    /// A warning when the mirror port's MTU is below what encapsulated copies of the largest
    /// incoming frames need; nil when it carries them.
    static func warning(encap: bma_encap_t, encapsulation: String, mirror: UInt16, inputs: [UInt16]) -> String? {
        var largest: UInt32 = 0
        for p in inputs {
            var l = bma_port_limits_t()
            guard bma_port_limits(p, &l) == 0 else { continue }
            largest = max(largest, min(l.max_rx_pktlen, jumboFrame))
        }
        var m = bma_port_limits_t()
        guard largest > 0, bma_port_limits(mirror, &m) == 0 else { return nil }
        let needed = neededMTU(frame: largest, encap: encap)
        guard m.mtu < needed else { return nil }
        var e = encap
        let overhead = bma_encap_header_len(&e)
        return "mirror: the mirror port's MTU is \(m.mtu); \(encapsulation) copies of \(largest)-byte frames "
            + "(\(overhead) bytes of headers) need \(needed) on the port and on the path to the collectors, "
            + "or they are dropped on the way (set a snaplen to keep copies smaller)"
    }
}

extension Dataplane {
    /// Warnings about the mirror path found at startup (empty without a mirror port).
    public var mirrorPathWarnings: [String] {
        guard let mi = mirrorIndex else { return [] }
        let inputs = ports.indices.filter { $0 != mi }.map { ports[$0].portId }
        let encap = Dataplane.encap(setup.mirror, sourceMAC: ports[mi].mac)
        return MirrorPathCheck.warning(encap: encap, encapsulation: setup.mirror.encapsulation.name,
                                       mirror: ports[mi].portId, inputs: inputs).map { [$0] } ?? []
    }
}
