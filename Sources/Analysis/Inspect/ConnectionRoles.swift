/// Tells which side of a conversation started it (the client), for modules that judge traffic
/// by direction: a TCP SYN's sender; otherwise the side whose first packet was seen, unless
/// ports say otherwise (a well-known port answering an ephemeral one is the server).
struct ConnectionRoles {
    /// Canonical tuple (lower endpoint first) -> the initiator's tuple.
    private var flows: InspectLRU<InspectFlowTuple, InspectFlowTuple>
    let idleNs: UInt64

    init(capacity: Int, idleNs: UInt64) {
        flows = InspectLRU(capacity: capacity)
        self.idleNs = idleNs
    }

    var count: Int { flows.count }

    static func canonical(_ tuple: InspectFlowTuple) -> InspectFlowTuple {
        (tuple.source, tuple.sourcePort) <= (tuple.destination, tuple.destinationPort) ? tuple : tuple.reversed
    }

    /// The packet's tuple oriented from the initiator, whether the packet goes that way, and
    /// whether the connection was not followed before this packet.
    mutating func orient(_ tuple: InspectFlowTuple, tcp: PacketView.TCP?, nowNs: UInt64)
        -> (initiator: InspectFlowTuple, outbound: Bool, isNew: Bool) {
        let key = Self.canonical(tuple)
        var isNew = false
        let initiator: InspectFlowTuple = flows.update(key, nowNs: nowNs, make: {
            isNew = true
            return Self.guess(tuple, tcp: tcp)
        }) { stored in
            if let tcp, tcp.isSYNOnly, stored != tuple {
                stored = tuple  // a SYN settles it
            }
            return stored
        }
        return (initiator, initiator == tuple, isNew)
    }

    mutating func expire(nowNs: UInt64) {
        flows.expire(before: nowNs > idleNs ? nowNs - idleNs : 0)
    }

    static func guess(_ tuple: InspectFlowTuple, tcp: PacketView.TCP?) -> InspectFlowTuple {
        if let tcp {
            if tcp.isSYNOnly { return tuple }
            if tcp.isSYNACK { return tuple.reversed }
        }
        // Mid-stream: the lower (service) port is the server's.
        let source = tuple.sourcePort
        let destination = tuple.destinationPort
        if source < 1024 && destination >= 1024 { return tuple.reversed }
        if destination < 1024 && source >= 1024 { return tuple }
        if source < destination && destination >= 32_768 && source < 32_768 { return tuple.reversed }
        return tuple
    }
}
