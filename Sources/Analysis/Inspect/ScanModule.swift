import Foundation

/// Port scans (many destination ports on one host) and host scans (many destination hosts)
/// from one source within a sliding window.
///
/// Probes are TCP segments without ACK or RST (SYN, FIN, NULL, Xmas), UDP datagrams that are
/// not replies, ICMP echo requests and ARP requests. Each distinct port (or host) weighs 1,
/// unless it answered and the conversation went on (TCP payload from the source after the
/// handshake, a UDP reply, an ARP reply): then it weighs `answeredWeight`, so that a client
/// really using several services does not look like a scanner. A UDP port nobody answered
/// weighs `udpWeight` (UDP probes are ambiguous), raised to 1 when an ICMP port unreachable
/// comes back. Multicast and broadcast destinations are ignored.
///
/// Signatures 9,200,100 (port scan, severity 2) and 9,200,101 (host scan, severity 2); the
/// alert's src is the scanner, its dest the (last) target.
public final class ScanModule: InspectionModule, @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Sliding window over which distinct ports and hosts are counted.
        public var windowNs: UInt64 = 60_000_000_000
        /// Weighted distinct ports on one host that make a port scan.
        public var portThreshold: Double = 20
        /// Weighted distinct hosts from one source that make a host scan.
        public var hostThreshold: Double = 20
        /// Weight of a port or host that answered and was then really used.
        public var answeredWeight: Double = 0.25
        /// Weight of a UDP port that did not answer (and did not refuse).
        public var udpWeight: Double = 0.5
        /// Bounds: (source, destination) pairs, sources, UDP conversations tracked, and the
        /// distinct ports or hosts remembered per pair or source (beyond it they are counted).
        public var maxPairs = 8_192
        public var maxSources = 4_096
        public var maxUDPFlows = 65_536
        public var maxPortsPerPair = 128
        public var maxHostsPerSource = 128

        public init() {}
    }

    enum Outcome: UInt8, Comparable {
        case probed, refused, answered, established
        static func < (a: Outcome, b: Outcome) -> Bool { a.rawValue < b.rawValue }
    }

    struct Target {
        var lastNs: UInt64
        var proto: UInt8
        var outcome: Outcome
    }

    struct Tracker<Item: Hashable> {
        var items: [Item: Target] = [:]
        var probes = 0
        var overflow = 0
        var alertedUntilNs: UInt64 = 0
        var lastSourcePort: UInt16 = 0
        var lastItem: Item?
        var lastProto: UInt8 = 0
        var lastPruneNs: UInt64 = 0

        /// Forgets what left the window; at most every quarter window, so that the work per
        /// packet stays small.
        mutating func prune(before cutoff: UInt64, now: UInt64, every: UInt64) {
            guard now &- lastPruneNs >= every || now < lastPruneNs else { return }
            lastPruneNs = now
            items = items.filter { $0.value.lastNs >= cutoff }
            if items.isEmpty { probes = 0; overflow = 0 }
        }
    }

    public let name = "scan"
    public let configuration: Configuration
    public let alerts: AlertBuilder
    private let lock = StateLock()
    private var pairs: InspectLRU<InspectPairKey, Tracker<UInt16>>
    private var sources: InspectLRU<InspectHostKey, Tracker<PacketView.Address>>
    /// UDP conversations by their initiator's tuple, to tell replies from probes.
    private var udpFlows: InspectLRU<InspectFlowTuple, Bool>

    public init(configuration: Configuration = Configuration(), alerts: AlertBuilder = AlertBuilder()) {
        self.configuration = configuration
        self.alerts = alerts
        pairs = InspectLRU(capacity: configuration.maxPairs)
        sources = InspectLRU(capacity: configuration.maxSources)
        udpFlows = InspectLRU(capacity: configuration.maxUDPFlows)
    }

    /// Pairs, sources and UDP conversations currently tracked.
    public var trackedState: (pairs: Int, sources: Int, udpFlows: Int) {
        lock.withLock { (pairs.count, sources.count, udpFlows.count) }
    }

    public func inspect(_ packet: MirroredPacket, _ view: PacketView, emit: (Alert) -> Void) {
        lock.withLock { inspectLocked(packet, view, emit: emit) }
    }

    public func tick(nowNs: UInt64, emit: (Alert) -> Void) {
        lock.withLock {
            let cutoff = nowNs > configuration.windowNs ? nowNs - configuration.windowNs : 0
            // Idle trackers go; active ones prune themselves as probes come.
            pairs.expire(before: cutoff)
            sources.expire(before: cutoff)
            udpFlows.expire(before: cutoff)
        }
    }

    private func inspectLocked(_ packet: MirroredPacket, _ view: PacketView, emit: (Alert) -> Void) {
        let now = packet.timestampNs
        let vm = packet.vmID
        if let arp = view.arp {
            let sender = PacketView.Address.v4(arp.senderIP)
            let target = PacketView.Address.v4(arp.targetIP)
            if arp.isRequest, arp.senderIP != arp.targetIP, !sender.isUnspecified {
                probeHost(vm: vm, source: sender, target: target, proto: 0, now: now, packet: packet, emit: emit)
            } else if arp.isReply {
                mark(vm: vm, source: target, host: sender, outcome: .established, now: now)
            }
            return
        }
        guard let ip = view.ip, !ip.isLaterFragment else { return }
        let source = ip.source
        let destination = ip.destination
        switch view.transport {
        case let .tcp(tcp):
            if tcp.flags.contains(.rst) {
                // A refusal from the target, or the scanner tearing down: neither is a probe.
                if tcp.flags.contains(.ack) {
                    mark(vm: vm, source: destination, target: source, port: tcp.sourcePort, outcome: .refused, now: now)
                }
            } else if !tcp.flags.contains(.ack) {
                guard !destination.isMulticastOrBroadcast, !source.isUnspecified else { return }
                probe(vm: vm, source: source, destination: destination, sourcePort: tcp.sourcePort,
                      port: tcp.destinationPort, proto: 6, now: now, packet: packet, emit: emit)
            } else if tcp.isSYNACK {
                mark(vm: vm, source: destination, target: source, port: tcp.sourcePort, outcome: .answered, now: now)
            } else if tcp.payloadLength > 0 {
                mark(vm: vm, source: source, target: destination, port: tcp.destinationPort, outcome: .established, now: now)
            }
        case let .udp(udp):
            guard !destination.isMulticastOrBroadcast, !source.isUnspecified else { return }
            let tuple = InspectFlowTuple(vm: vm, proto: 17, source: source, sourcePort: udp.sourcePort,
                                  destination: destination, destinationPort: udp.destinationPort)
            if udpFlows.contains(tuple.reversed) {
                // A reply: the initiator's port answered.
                udpFlows.update(tuple.reversed, nowNs: now, make: { true }) { _ in }
                mark(vm: vm, source: destination, target: source, port: udp.sourcePort, outcome: .established, now: now)
                return
            }
            let isNew = !udpFlows.contains(tuple)
            udpFlows.update(tuple, nowNs: now, make: { true }) { _ in }
            if isNew {
                probe(vm: vm, source: source, destination: destination, sourcePort: udp.sourcePort,
                      port: udp.destinationPort, proto: 17, now: now, packet: packet, emit: emit)
            }
        case let .icmp(icmp):
            if icmp.isEchoRequest {
                guard !destination.isMulticastOrBroadcast, !source.isUnspecified else { return }
                probeHost(vm: vm, source: source, target: destination, proto: ip.protocolNumber, now: now,
                          packet: packet, emit: emit)
            } else if icmp.isEchoReply {
                mark(vm: vm, source: destination, host: source, outcome: .answered, now: now)
            } else if icmp.isUnreachable, let quoted = icmp.quoted,
                      let prober = PacketView.Address(quoted.srcIP), let target = PacketView.Address(quoted.dstIP) {
                mark(vm: vm, source: prober, target: target, port: quoted.dstPort, outcome: .refused, now: now)
            }
        case nil:
            return
        }
    }

    // MARK: Counting

    private func weight(_ target: Target) -> Double {
        switch target.outcome {
        case .established: configuration.answeredWeight
        case .probed where target.proto == 17: configuration.udpWeight
        default: 1
        }
    }

    private func probe(vm: UInt32, source: PacketView.Address, destination: PacketView.Address, sourcePort: UInt16,
                       port: UInt16, proto: UInt8, now: UInt64, packet: MirroredPacket, emit: (Alert) -> Void) {
        let key = InspectPairKey(vm: vm, source: source, destination: destination)
        let window = configuration.windowNs
        let limit = configuration.maxPortsPerPair
        let crossed: (Tracker<UInt16>, Double)? = pairs.update(key, nowNs: now, make: { Tracker() }) { tracker in
            tracker.lastSourcePort = sourcePort
            tracker.lastItem = port
            tracker.lastProto = proto
            let cutoff = now > window ? now - window : 0
            tracker.prune(before: cutoff, now: now, every: window / 4)
            tracker.probes += 1
            if tracker.items[port] != nil {
                tracker.items[port]!.lastNs = max(tracker.items[port]!.lastNs, now)
            } else if tracker.items.count < limit {
                tracker.items[port] = Target(lastNs: now, proto: proto, outcome: .probed)
            } else {
                tracker.prune(before: cutoff, now: now, every: 0)
                if tracker.items.count < limit {
                    tracker.items[port] = Target(lastNs: now, proto: proto, outcome: .probed)
                } else {
                    tracker.overflow += 1
                }
            }
            guard now >= tracker.alertedUntilNs else { return nil }
            let score = tracker.items.values.reduce(0.0) { $0 + ($1.lastNs >= cutoff ? weight($1) : 0) } + Double(tracker.overflow)
            guard score >= configuration.portThreshold else { return nil }
            tracker.alertedUntilNs = now &+ window
            return (tracker, score)
        }
        if let (tracker, score) = crossed {
            emit(portScanAlert(tracker, score: score, key: key, packet: packet))
        }
        probeHost(vm: vm, source: source, target: destination, proto: proto, now: now, packet: packet, emit: emit,
                  sourcePort: sourcePort, port: port)
    }

    private func probeHost(vm: UInt32, source: PacketView.Address, target: PacketView.Address, proto: UInt8,
                           now: UInt64, packet: MirroredPacket, emit: (Alert) -> Void, sourcePort: UInt16 = 0,
                           port: UInt16? = nil) {
        let key = InspectHostKey(vm: vm, host: source)
        let window = configuration.windowNs
        let limit = configuration.maxHostsPerSource
        let crossed: (Tracker<PacketView.Address>, Double)? = sources.update(key, nowNs: now, make: { Tracker() }) { tracker in
            tracker.lastItem = target
            tracker.lastProto = proto
            tracker.lastSourcePort = sourcePort
            let cutoff = now > window ? now - window : 0
            tracker.prune(before: cutoff, now: now, every: window / 4)
            tracker.probes += 1
            if tracker.items[target] != nil {
                tracker.items[target]!.lastNs = max(tracker.items[target]!.lastNs, now)
            } else if tracker.items.count < limit {
                tracker.items[target] = Target(lastNs: now, proto: proto, outcome: .probed)
            } else {
                tracker.prune(before: cutoff, now: now, every: 0)
                if tracker.items.count < limit {
                    tracker.items[target] = Target(lastNs: now, proto: proto, outcome: .probed)
                } else {
                    tracker.overflow += 1
                }
            }
            guard now >= tracker.alertedUntilNs else { return nil }
            // Hosts weigh 1 unless the conversation went on; UDP hosts are not discounted.
            let score = tracker.items.values.reduce(0.0) {
                $0 + ($1.lastNs >= cutoff ? ($1.outcome == .established ? configuration.answeredWeight : 1) : 0)
            } + Double(tracker.overflow)
            guard score >= configuration.hostThreshold else { return nil }
            tracker.alertedUntilNs = now &+ window
            return (tracker, score)
        }
        if let (tracker, score) = crossed {
            emit(hostScanAlert(tracker, score: score, source: source, port: port, packet: packet))
        }
    }

    private func mark(vm: UInt32, source: PacketView.Address, target: PacketView.Address, port: UInt16,
                      outcome: Outcome, now: UInt64) {
        pairs.modify(InspectPairKey(vm: vm, source: source, destination: target)) { tracker in
            guard var item = tracker.items[port] else { return }
            item.outcome = max(item.outcome, outcome)
            tracker.items[port] = item
        }
        mark(vm: vm, source: source, host: target, outcome: outcome, now: now)
    }

    private func mark(vm: UInt32, source: PacketView.Address, host: PacketView.Address, outcome: Outcome, now: UInt64) {
        sources.modify(InspectHostKey(vm: vm, host: source)) { tracker in
            guard var item = tracker.items[host] else { return }
            item.outcome = max(item.outcome, outcome)
            tracker.items[host] = item
        }
    }

    // MARK: Alerts

    private func portScanAlert(_ tracker: Tracker<UInt16>, score: Double, key: InspectPairKey, packet: MirroredPacket) -> Alert {
        let ports = tracker.items.keys.sorted()
        let outcomes = Dictionary(grouping: tracker.items.values, by: \.outcome).mapValues(\.count)
        let flow = FlowKey(srcIP: key.source.description, dstIP: key.destination.description, proto: tracker.lastProto,
                           srcPort: tracker.lastSourcePort, dstPort: tracker.lastItem ?? 0)
        var details: [String: String] = [
            "distinct_ports": String(tracker.items.count + tracker.overflow),
            "weighted_ports": InspectFormat.format3(score),
            "threshold": InspectFormat.format3(configuration.portThreshold),
            "window_s": InspectFormat.seconds(configuration.windowNs),
            "probes": String(tracker.probes),
            "unanswered": String(outcomes[.probed] ?? 0),
            "refused": String(outcomes[.refused] ?? 0),
            "answered": String((outcomes[.answered] ?? 0) + (outcomes[.established] ?? 0)),
            "sample_ports": ports.prefix(16).map(String.init).joined(separator: ","),
        ]
        if let first = ports.first, let last = ports.last { details["port_range"] = "\(first)-\(last)" }
        return alerts.alert(InspectionSignatures.portScan, module: name, packet: packet, flow: flow,
                            score: score / configuration.portThreshold, count: tracker.probes, details: details)
    }

    private func hostScanAlert(_ tracker: Tracker<PacketView.Address>, score: Double, source: PacketView.Address,
                               port: UInt16?, packet: MirroredPacket) -> Alert {
        let hosts = tracker.items.keys.sorted()
        let outcomes = Dictionary(grouping: tracker.items.values, by: \.outcome).mapValues(\.count)
        let target = tracker.lastItem ?? source
        let proto = tracker.lastProto
        let flow = FlowKey(srcIP: source.description, dstIP: target.description, proto: proto,
                           srcPort: tracker.lastSourcePort, dstPort: port ?? 0)
        var details: [String: String] = [
            "distinct_hosts": String(tracker.items.count + tracker.overflow),
            "weighted_hosts": InspectFormat.format3(score),
            "threshold": InspectFormat.format3(configuration.hostThreshold),
            "window_s": InspectFormat.seconds(configuration.windowNs),
            "probes": String(tracker.probes),
            "unanswered": String((outcomes[.probed] ?? 0) + (outcomes[.refused] ?? 0)),
            "answered": String((outcomes[.answered] ?? 0) + (outcomes[.established] ?? 0)),
            "sample_hosts": hosts.prefix(8).map(\.description).joined(separator: ","),
        ]
        if let port { details["port"] = String(port) }
        return alerts.alert(InspectionSignatures.hostScan, module: name, packet: packet, flow: flow,
                            score: score / configuration.hostThreshold, count: tracker.probes, details: details,
                            proto: proto == 0 ? "ARP" : nil)
    }
}
