import Foundation

/// Data exfiltration: a client sending far more than it receives to a destination it has not
/// been talking to for long.
///
/// Bytes (IP length on the wire) are counted per (VM, initiator, responder) in both directions
/// over a sliding window of `windowNs`; the initiator is the side that opened the conversation
/// (see `ConnectionRoles`), so a server answering downloads is not an uploader. Signature
/// 9,200,300 (severity 1) when, within the window, the initiator sent at least `bytesThreshold`
/// bytes and at least `ratio` times what it received, to a destination that is new: first
/// seen less than `newDestinationNs` ago, or flagged `new-destination` by bmad. Then quiet for
/// one window per pair.
public final class ExfiltrationModule: InspectionModule, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var windowNs: UInt64 = 600_000_000_000
        public var bytesThreshold: UInt64 = 20_000_000
        public var ratio: Double = 10
        public var newDestinationNs: UInt64 = 86_400_000_000_000
        /// Pairs with traffic in flight, and pairs remembered as known (for "new").
        public var maxPairs = 16_384
        public var maxKnownPairs = 65_536
        /// A known pair not seen for this long is forgotten (and new again).
        public var knownRetentionNs: UInt64 = 7 * 86_400_000_000_000
        public var maxFlows = 65_536

        public init() {}
    }

    struct PairState {
        var outbound: SlidingSum
        var inbound: SlidingSum
        var flows: Set<UInt64> = []
        var flaggedNew = false
        var alertedUntilNs: UInt64 = 0
        /// Formatted only when an alert is raised.
        var lastFlow: InspectFlowTuple?
    }

    public let name = "exfiltration"
    public let configuration: Configuration
    public let alerts: AlertBuilder
    private let lock = StateLock()
    private var roles: ConnectionRoles
    private var pairs: InspectLRU<InspectPairKey, PairState>
    /// First time each pair was seen.
    private var known: InspectLRU<InspectPairKey, UInt64>

    public init(configuration: Configuration = Configuration(), alerts: AlertBuilder = AlertBuilder()) {
        self.configuration = configuration
        self.alerts = alerts
        roles = ConnectionRoles(capacity: configuration.maxFlows, idleNs: max(configuration.windowNs, 300_000_000_000))
        pairs = InspectLRU(capacity: configuration.maxPairs)
        known = InspectLRU(capacity: configuration.maxKnownPairs)
    }

    public var trackedState: (pairs: Int, known: Int, flows: Int) {
        lock.withLock { (pairs.count, known.count, roles.count) }
    }

    public func inspect(_ packet: MirroredPacket, _ view: PacketView, emit: (Alert) -> Void) {
        guard let ip = view.ip, !ip.source.isUnspecified, !ip.destination.isMulticastOrBroadcast else { return }
        let ports = view.ports ?? (0, 0)
        let tuple = InspectFlowTuple(vm: packet.vmID, proto: ip.protocolNumber, source: ip.source, sourcePort: ports.source,
                                     destination: ip.destination, destinationPort: ports.destination)
        let now = packet.timestampNs
        let bytes = UInt64(ip.totalLength)
        let flaggedNew = packet.metadata?.reasons.contains(BMAMetadata.Reasons(rawValue: 1)) ?? false
        let alert: Alert? = lock.withLock {
            let (initiator, outbound, isNewConnection) = roles.orient(tuple, tcp: view.tcp, nowNs: now)
            let key = InspectPairKey(vm: packet.vmID, source: initiator.source, destination: initiator.destination)
            let firstSeen = known.update(key, nowNs: now, make: { now }) { $0 }
            let window = configuration.windowNs
            return pairs.update(key, nowNs: now, make: {
                PairState(outbound: SlidingSum(windowNs: window), inbound: SlidingSum(windowNs: window))
            }) { state -> Alert? in
                // Only a connection's first packet (either way) can add a flow: no set lookup per packet.
                if isNewConnection, state.flows.count < 64 {
                    state.flows.insert(UInt64(initiator.sourcePort) << 16 | UInt64(initiator.destinationPort))
                }
                if outbound {
                    state.outbound.add(bytes, atNs: now)
                    if flaggedNew { state.flaggedNew = true }
                    state.lastFlow = initiator
                } else {
                    state.inbound.add(bytes, atNs: now)
                    return nil
                }
                guard now >= state.alertedUntilNs else { return nil }
                let sent = state.outbound.total(atNs: now)
                guard sent >= configuration.bytesThreshold else { return nil }
                let received = state.inbound.total(atNs: now)
                guard Double(sent) >= configuration.ratio * Double(received) else { return nil }
                let age = now >= firstSeen ? now - firstSeen : 0
                let isNew = state.flaggedNew || age < configuration.newDestinationNs
                guard isNew else { return nil }
                state.alertedUntilNs = now &+ window
                return makeAlert(state, sent: sent, received: received, firstSeen: firstSeen, packet: packet)
            }
        }
        if let alert { emit(alert) }
    }

    public func tick(nowNs: UInt64, emit: (Alert) -> Void) {
        lock.withLock {
            roles.expire(nowNs: nowNs)
            let window = configuration.windowNs
            pairs.expire(before: nowNs > window ? nowNs - window : 0)
            let retention = configuration.knownRetentionNs
            known.expire(before: nowNs > retention ? nowNs - retention : 0)
        }
    }

    private func makeAlert(_ state: PairState, sent: UInt64, received: UInt64, firstSeen: UInt64, packet: MirroredPacket) -> Alert {
        let seconds = Double(configuration.windowNs) / 1e9
        var details: [String: String] = [
            "bytes_out": String(sent),
            "bytes_in": String(received),
            "ratio": received == 0 ? "inf" : InspectFormat.format3(Double(sent) / Double(received)),
            "threshold_bytes": String(configuration.bytesThreshold),
            "window_s": InspectFormat.seconds(configuration.windowNs),
            "out_bps": InspectFormat.format3(Double(sent) * 8 / seconds),
            "first_seen": AlertBuilder.timestamp(nanoseconds: firstSeen),
            "flows": String(state.flows.count),
        ]
        details["new_because"] = state.flaggedNew ? "bmad-new-destination" : "first-seen"
        return alerts.alert(InspectionSignatures.exfiltration, module: name, packet: packet, flow: state.lastFlow?.flowKey,
                            score: Double(sent) / Double(configuration.bytesThreshold), count: 1, details: details)
    }
}
