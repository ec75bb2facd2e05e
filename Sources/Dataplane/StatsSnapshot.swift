import CDPDK

/// Counters read from every worker at one moment (relaxed loads; each counter has one writer).
public struct StatsSnapshot: Codable, Sendable {
    public struct Queue: Codable, Sendable {
        public var queue: Int
        public var lcore: UInt32
        public var rx_packets: UInt64
        public var rx_bytes: UInt64
        public var tx_packets: UInt64
        public var tx_bytes: UInt64
        public var tx_full: UInt64
    }

    public struct Device: Codable, Sendable {
        public var ipackets: UInt64
        public var opackets: UInt64
        public var ibytes: UInt64
        public var obytes: UInt64
        public var imissed: UInt64
        public var ierrors: UInt64
        public var oerrors: UInt64
        public var rx_nombuf: UInt64
    }

    public struct Port: Codable, Sendable {
        public var name: String
        public var role: String
        public var vm_id: UInt32?
        public var port_id: UInt16
        public var driver: String
        public var devargs: String
        public var mac: String?
        public var link_up: Bool?
        public var link_changes: UInt64
        public var rx_packets: UInt64
        public var rx_bytes: UInt64
        public var tx_packets: UInt64
        public var tx_bytes: UInt64
        public var tx_full: UInt64
        /// Frames dropped on receive: their mbuf chain disagreed with its own length.
        public var rx_invalid_chains: UInt64
        public var queues: [Queue]
        public var device: Device
    }

    public struct Lcore: Codable, Sendable {
        public var lcore: UInt32
        public var worker: Int
        public var loops: UInt64
        public var bursts: UInt64
        public var rx_packets: UInt64
        public var tx_packets: UInt64
        /// Cycles spent per stage of the packet path (bmad --profile-stages only).
        public var stage_cycles: [String: UInt64]? = nil
    }

    public struct VM: Codable, Sendable {
        public var name: String
        public var id: UInt32
        public var mac: String?
        /// Frames received on the VM's port (outgoing + incoming).
        public var seen: UInt64
        public var outgoing: UInt64
        public var incoming: UInt64
        public var forwarded: UInt64
        public var learning: UInt64
        public var anomalous: UInt64
        public var sticky: UInt64
        /// Mirrored regardless of score (an `always` policy or mirror.force).
        public var forced: UInt64
        /// Anomalous packets a `never` policy kept off the mirror.
        public var suppressed: UInt64
        /// Packets the detector chose to mirror (anomalous or sticky), by reason.
        public var mirror_decisions: UInt64
        public var reasons: [String: UInt64]
        /// Copies sent on the mirror port, pre-trigger copies included.
        public var mirrored: UInt64
        public var mirrored_bytes: UInt64
        public var mirrored_incoming: UInt64
        public var pre_trigger: UInt64
        public var budget_drops: UInt64
        public var policy_budget_drops: UInt64
        public var mirror_drops: UInt64
        public var baseline: BaselineSummary?
        /// Outgoing packets response actions dropped or rate-limited.
        public var action_drops: UInt64? = nil
    }

    public struct BaselineSummary: Codable, Sendable {
        public var learned_packets: UInt64
        public var services: Int
        public var hosts: Int
        public var destinations: Int
        public var frozen: Bool
        public var memory_bytes: Int
    }

    public struct Mirror: Codable, Sendable {
        public var sent: UInt64
        public var sent_bytes: UInt64
        public var nombuf: UInt64
        public var ringfull: UInt64
        public var too_big: UInt64
    }

    public var uptime_s: Double
    public var ports: [Port]
    public var lcores: [Lcore]
    /// Frames not forwarded, by reason.
    public var drops: [String: UInt64]
    /// Frames forwarded although malformed, by reason.
    public var malformed: [String: UInt64]
    public var broadcast_copies: UInt64
    public var vms: [VM]
    public var mirror: Mirror
    /// The response actions in force and what each did (absent when none).
    public var actions: [ActionStats]? = nil

    public struct ActionStats: Codable, Sendable {
        public var id: UInt32
        public var kind: String
        public var matched: UInt64
        public var dropped: UInt64
        public var limited: UInt64
        public var mirrored: UInt64
        public var allowed: UInt64
    }
}

extension Dataplane {
    /// Reads every counter now. Safe while the workers run.
    /// `baselines` adds each VM's baseline size; only safe once the workers have stopped.
    public func snapshot(baselines: Bool = false) -> StatsSnapshot {
        var outPorts: [StatsSnapshot.Port] = []
        for (pi, p) in ports.enumerated() {
            // Keyed by queue and lcore: the worker that polls a VM's RX queue 0 need not be the
            // one that sends on TX queue 0 (each worker sends on its own queue of every port).
            var queues: [Int: StatsSnapshot.Queue] = [:]
            func key(_ queue: UInt16, _ lcore: UInt32) -> Int { Int(queue) << 32 | Int(lcore) }
            var total = StatsSnapshot.Queue(queue: -1, lcore: 0, rx_packets: 0, rx_bytes: 0, tx_packets: 0, tx_bytes: 0, tx_full: 0)
            for w in workers {
                let b = w.counters
                let l = b.layout
                let polled = w.rx.first { $0.portIndex == pi }
                let rxp = b.read(l.index(port: pi, .rxPackets)), rxb = b.read(l.index(port: pi, .rxBytes))
                let txp = b.read(l.index(port: pi, .txPackets)), txb = b.read(l.index(port: pi, .txBytes))
                let txf = b.read(l.index(port: pi, .txFull))
                if let polled {
                    let k = key(polled.queue, w.lcore)
                    var q = queues[k] ?? .init(queue: Int(polled.queue), lcore: w.lcore, rx_packets: 0, rx_bytes: 0, tx_packets: 0, tx_bytes: 0, tx_full: 0)
                    q.rx_packets &+= rxp
                    q.rx_bytes &+= rxb
                    queues[k] = q
                }
                let k = key(w.txQueue, w.lcore)
                var tq = queues[k] ?? .init(queue: Int(w.txQueue), lcore: w.lcore, rx_packets: 0, rx_bytes: 0, tx_packets: 0, tx_bytes: 0, tx_full: 0)
                tq.tx_packets &+= txp
                tq.tx_bytes &+= txb
                tq.tx_full &+= txf
                queues[k] = tq
                total.rx_packets &+= rxp
                total.rx_bytes &+= rxb
                total.tx_packets &+= txp
                total.tx_bytes &+= txb
                total.tx_full &+= txf
            }
            var ds = bma_port_stats_t()
            _ = bma_port_stats(p.portId, &ds)
            let link = bma_port_link_up(p.portId)
            var mac: UInt64? = p.mac
            if case .vm(let i) = p.role { mac = vmMAC(i) }
            outPorts.append(.init(
                name: p.name, role: p.role.name, vm_id: p.vmId, port_id: p.portId, driver: p.driver,
                devargs: p.devargs, mac: mac.map(formatMAC), link_up: link < 0 ? nil : link == 1,
                link_changes: linkChanges[pi],
                rx_packets: total.rx_packets, rx_bytes: total.rx_bytes, tx_packets: total.tx_packets,
                tx_bytes: total.tx_bytes, tx_full: total.tx_full,
                rx_invalid_chains: bma_rx_invalid_chains(p.portId),
                queues: queues.values.sorted { ($0.queue, $0.lcore) < ($1.queue, $1.lcore) },
                device: .init(ipackets: ds.ipackets, opackets: ds.opackets, ibytes: ds.ibytes, obytes: ds.obytes,
                              imissed: ds.imissed, ierrors: ds.ierrors, oerrors: ds.oerrors, rx_nombuf: ds.rx_nombuf)))
        }
        var lcores: [StatsSnapshot.Lcore] = []
        var drops: [String: UInt64] = ["unknown-destination": 0, "tx-full": 0, "invalid-chain": 0]
        var malformed: [String: UInt64] = [:]
        var copies: UInt64 = 0
        for w in workers {
            let b = w.counters
            let l = b.layout
            var rx: UInt64 = 0, tx: UInt64 = 0
            for pi in ports.indices {
                rx &+= b.read(l.index(port: pi, .rxPackets))
                tx &+= b.read(l.index(port: pi, .txPackets))
                drops["tx-full", default: 0] &+= b.read(l.index(port: pi, .txFull))
            }
            drops["unknown-destination", default: 0] &+= b.read(l.index(.unknownDestination))
            copies &+= b.read(l.index(.broadcastCopies))
            for r in 1..<l.malformedReasons {
                let v = b.read(l.index(malformed: r))
                if v > 0 { malformed[String(cString: bma_malformed_name(UInt32(r))), default: 0] &+= v }
            }
            var lcore = StatsSnapshot.Lcore(lcore: w.lcore, worker: w.index, loops: b.read(l.index(.loops)),
                                            bursts: b.read(l.index(.bursts)), rx_packets: rx, tx_packets: tx)
            if w.profile {
                let stages: [WorkerCounter] = [.cyclesReceive, .cyclesPolicy, .cyclesDetect, .cyclesDecide, .cyclesMirror, .cyclesTransmit]
                lcore.stage_cycles = Dictionary(uniqueKeysWithValues: stages.map { ($0.name, b.read(l.index($0))) })
            }
            lcores.append(lcore)
        }
        drops["invalid-chain"] = outPorts.reduce(0) { $0 &+ $1.rx_invalid_chains }
        var vms: [StatsSnapshot.VM] = []
        for (i, vm) in setup.vms.enumerated() {
            func sum(_ c: VMCounter) -> UInt64 { workers.reduce(0) { $0 &+ $1.counters.read($1.counters.layout.index(vm: i, c)) } }
            var reasons: [String: UInt64] = [:]
            for (bit, (_, name)) in Reason.all.enumerated() {
                reasons[name] = workers.reduce(0) { $0 &+ $1.counters.read($1.counters.layout.index(vm: i, reasonBit: bit)) }
            }
            var base: StatsSnapshot.BaselineSummary?
            if baselines, let owner = workers.first(where: { w in w.rx.contains { $0.vm == i } }) {
                let b = owner.vms[i].detector.baseline
                base = .init(learned_packets: b.learnedPackets, services: b.services.count, hosts: b.hosts.count,
                             destinations: b.destinations.count, frozen: b.frozen, memory_bytes: Baseline.memoryBytes)
            }
            vms.append(.init(name: vm.name, id: vm.id, mac: vmMAC(i).map(formatMAC), seen: sum(.outgoing) &+ sum(.incoming),
                             outgoing: sum(.outgoing), incoming: sum(.incoming), forwarded: sum(.forwarded),
                             learning: sum(.learning), anomalous: sum(.anomalous), sticky: sum(.sticky),
                             forced: sum(.forced), suppressed: sum(.suppressed),
                             mirror_decisions: sum(.mirrorDecisions), reasons: reasons, mirrored: sum(.mirrored),
                             mirrored_bytes: sum(.mirroredBytes), mirrored_incoming: sum(.mirroredIncoming),
                             pre_trigger: sum(.preTrigger), budget_drops: sum(.budgetDrops),
                             policy_budget_drops: sum(.policyBudgetDrops), mirror_drops: sum(.mirrorDrops), baseline: base,
                             action_drops: sum(.actionDrops)))
        }
        // Listed only once an action dropped something (the other reasons are always listed).
        let actionDrops = vms.reduce(0) { $0 &+ ($1.action_drops ?? 0) }
        if actionDrops > 0 { drops["response-action"] = actionDrops }
        func mirrorSum(_ c: MirrorCounter) -> UInt64 { workers.reduce(0) { $0 &+ $1.counters.read($1.counters.layout.index(c)) } }
        let actions = actionTable.published.map { a in
            let c = actionTable.counts(id: a.id)
            return StatsSnapshot.ActionStats(id: a.id, kind: a.kind.name, matched: c.matched, dropped: c.dropped,
                                             limited: c.limited, mirrored: c.mirrored, allowed: c.allowed)
        }
        return StatsSnapshot(uptime_s: uptime, ports: outPorts, lcores: lcores, drops: drops,
                             malformed: malformed, broadcast_copies: copies, vms: vms,
                             mirror: .init(sent: mirrorSum(.sent), sent_bytes: mirrorSum(.sentBytes), nombuf: mirrorSum(.nombuf),
                                           ringfull: mirrorSum(.ringfull), too_big: mirrorSum(.tooBig)),
                             actions: actions.isEmpty ? nil : actions)
    }
}
