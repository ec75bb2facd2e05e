import CDPDK

/// What becomes of one outgoing packet once it is judged: a pure function of the detector's
/// verdict, the matching policy's mode and whether the packet's VM or flow is forced.
struct MirrorDecision: Equatable {
    /// Send a copy to the mirror.
    var copy = false
    /// Metadata flags of the copy (BMA_MF_STICKY, BMA_MF_FORCED).
    var flags: UInt16 = 0
    /// The first anomaly after a quiet period: earlier packets go out as pre-trigger copies.
    var trigger = false
    /// Kept as pre-trigger context for a later trigger (not copied, not under a `never` policy).
    var context = false
    /// Anomalous or sticky, but a `never` policy keeps it off the mirror.
    var suppressed = false
    /// Copied only because it is forced (the detector found nothing).
    var forcedOnly = false
    /// Counted as anomalous / as sticky.
    var anomalous = false
    var sticky = false

    @inline(__always)
    static func decide(_ v: Verdict, mode: MirrorMode, forced vmForced: Bool) -> MirrorDecision {
        var d = MirrorDecision()
        let forced = mode == .always || vmForced
        var anomalous = v.anomalous
        var sticky = v.sticky
        if mode == .never && (anomalous || sticky) && !forced {
            d.suppressed = true
            anomalous = false
            sticky = false
        }
        let judged = anomalous || sticky
        if !judged && !forced {
            d.context = mode != .never
            return d
        }
        d.copy = true
        d.forcedOnly = !judged
        d.anomalous = anomalous
        d.sticky = sticky && !anomalous
        d.trigger = v.trigger && anomalous
        if d.sticky { d.flags |= UInt16(BMA_MF_STICKY) }
        if forced { d.flags |= UInt16(BMA_MF_FORCED) }
        return d
    }
}
