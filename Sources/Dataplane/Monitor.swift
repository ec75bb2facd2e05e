import CDPDK

/// Main-lcore housekeeping: link transitions and per-VM activity, read without stopping workers.
extension Dataplane {
    public struct LinkEvent: Sendable {
        public var port: String
        public var up: Bool
    }

    /// Polls every port's link state (non-blocking) and returns what changed since the last call.
    /// A VM that connects, disconnects or restarts shows here; its port keeps working throughout.
    public func pollLinks() -> [LinkEvent] {
        var events: [LinkEvent] = []
        for (i, p) in ports.enumerated() {
            let now = bma_port_link_up(p.portId)
            if now >= 0 && now != linkState[i] {
                if linkState[i] >= 0 { linkChanges[i] &+= 1 }
                if linkState[i] >= 0 || now == 1 { events.append(LinkEvent(port: p.name, up: now == 1)) }
                linkState[i] = now
            }
        }
        return events
    }

    /// Packets received so far on each VM port, summed over workers.
    public func vmRxPackets() -> [UInt64] {
        var out = Array(repeating: UInt64(0), count: setup.vms.count)
        for w in workers {
            for a in w.rx where a.vm >= 0 {
                out[a.vm] &+= w.counters.read(w.counters.layout.index(port: a.portIndex, .rxPackets))
            }
        }
        // Frames dropped for an inconsistent mbuf chain were received too.
        for p in ports { if case .vm(let vm) = p.role { out[vm] &+= bma_rx_invalid_chains(p.portId) } }
        return out
    }
}
