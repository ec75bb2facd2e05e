import Foundation

/// Beaconing: a source opening connections to one destination (address, protocol and port) at
/// near-regular intervals, as implants calling home do.
///
/// Connections are TCP SYNs (a SYN on the same source port within `synRetryNs` is a
/// retransmission, not a new one), and for UDP and ICMP echo the first packet after at least
/// half of `minIntervalNs` of silence on that (source, destination, port). Per key the last
/// `maxEvents` times are kept; with at least `minEvents` of them, signature 9,200,400
/// (severity 2) fires when the mean interval lies in [`minIntervalNs`, `maxIntervalNs`] and the
/// coefficient of variation (standard deviation / mean) of the intervals is at most `maxCV`.
/// Then quiet for `realertNs` per key. Infrastructure ports that are periodic by design (DNS to
/// a resolver, DHCP, NTP, NetBIOS, mDNS, SSDP) and multicast destinations are ignored.
public final class BeaconingModule: InspectionModule, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var minEvents = 8
        public var maxEvents = 32
        public var maxCV = 0.15
        public var minIntervalNs: UInt64 = 5_000_000_000
        public var maxIntervalNs: UInt64 = 7_200_000_000_000
        public var realertNs: UInt64 = 3_600_000_000_000
        public var synRetryNs: UInt64 = 3_000_000_000
        public var ignoredPorts: Set<UInt16> = [53, 67, 68, 123, 137, 138, 5353, 1900]
        public var maxKeys = 16_384

        public init() {}
    }

    struct Key: Hashable, SlotKey {
        var vm: UInt32
        var source: PacketView.Address
        var destination: PacketView.Address
        var proto: UInt8
        var port: UInt16

        var slotHash: UInt64 {
            SlotHash.mix((UInt64(vm) << 32 | UInt64(proto) << 16 | UInt64(port)) &* 0xA076_1D64_78BD_642F
                         ^ source.slotWord &* 0xE703_7ED1_A0B4_28DB ^ destination.slotWord &* 0x9E37_79B9_7F4A_7C15)
        }
    }

    struct State {
        var events: [UInt64] = []
        var lastPacketNs: UInt64 = 0
        var lastSYNPort: UInt16 = 0
        var alertedUntilNs: UInt64 = 0
        var total = 0
    }

    /// Interval statistics of a series of event times.
    public struct Periodicity: Sendable, Equatable {
        public var intervals: Int
        public var meanNs: Double
        public var standardDeviationNs: Double
        public var coefficientOfVariation: Double

        /// nil for fewer than two events.
        public init?(eventTimes times: [UInt64]) {
            guard times.count >= 2 else { return nil }
            let gaps = zip(times.dropFirst(), times).map { Double($0 &- $1) }
            let mean = gaps.reduce(0, +) / Double(gaps.count)
            let variance = gaps.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(gaps.count)
            intervals = gaps.count
            meanNs = mean
            standardDeviationNs = variance.squareRoot()
            coefficientOfVariation = mean > 0 ? standardDeviationNs / mean : .infinity
        }
    }

    public let name = "beaconing"
    public let configuration: Configuration
    public let alerts: AlertBuilder
    private let lock = StateLock()
    private var states: InspectLRU<Key, State>

    public init(configuration: Configuration = Configuration(), alerts: AlertBuilder = AlertBuilder()) {
        self.configuration = configuration
        self.alerts = alerts
        states = InspectLRU(capacity: configuration.maxKeys)
    }

    public var trackedCount: Int { lock.withLock { states.count } }

    public func inspect(_ packet: MirroredPacket, _ view: PacketView, emit: (Alert) -> Void) {
        guard let ip = view.ip, !ip.source.isUnspecified, !ip.destination.isMulticastOrBroadcast else { return }
        var port: UInt16 = 0
        var synPort: UInt16?
        switch view.transport {
        case let .tcp(tcp):
            guard tcp.isSYNOnly else { return }
            port = tcp.destinationPort
            synPort = tcp.sourcePort
        case let .udp(udp):
            port = udp.destinationPort
        case let .icmp(icmp):
            guard icmp.isEchoRequest else { return }
        case nil:
            return
        }
        guard !configuration.ignoredPorts.contains(port) else { return }
        let key = Key(vm: packet.vmID, source: ip.source, destination: ip.destination, proto: ip.protocolNumber, port: port)
        let now = packet.timestampNs
        let sourcePort = view.ports?.source ?? 0
        let alert: Alert? = lock.withLock {
            states.update(key, nowNs: now, make: { State() }) { state -> Alert? in
                defer { state.lastPacketNs = max(state.lastPacketNs, now) }
                if let synPort {
                    if let last = state.events.last, synPort == state.lastSYNPort, now &- last < configuration.synRetryNs {
                        return nil  // retransmitted SYN
                    }
                    state.lastSYNPort = synPort
                } else if state.lastPacketNs != 0, now &- state.lastPacketNs < configuration.minIntervalNs / 2 {
                    return nil  // the same UDP/ICMP session
                }
                if let last = state.events.last, now < last { return nil }  // out of order: ignore
                state.events.append(now)
                state.total += 1
                if state.events.count > configuration.maxEvents { state.events.removeFirst(state.events.count - configuration.maxEvents) }
                guard state.events.count >= configuration.minEvents, now >= state.alertedUntilNs,
                      let periodicity = Periodicity(eventTimes: state.events),
                      periodicity.meanNs >= Double(configuration.minIntervalNs),
                      periodicity.meanNs <= Double(configuration.maxIntervalNs),
                      periodicity.coefficientOfVariation <= configuration.maxCV else { return nil }
                state.alertedUntilNs = now &+ configuration.realertNs
                let flow = FlowKey(srcIP: key.source.description, dstIP: key.destination.description, proto: key.proto,
                                   srcPort: sourcePort, dstPort: port)
                return makeAlert(state, periodicity: periodicity, flow: flow, packet: packet)
            }
        }
        if let alert { emit(alert) }
    }

    public func tick(nowNs: UInt64, emit: (Alert) -> Void) {
        lock.withLock {
            // A key silent for twice the longest interval cannot continue a series.
            let idle = configuration.maxIntervalNs &* 2
            states.expire(before: nowNs > idle ? nowNs - idle : 0)
        }
    }

    private func makeAlert(_ state: State, periodicity: Periodicity, flow: FlowKey, packet: MirroredPacket) -> Alert {
        let details: [String: String] = [
            "connections": String(state.events.count),
            "interval_s": InspectFormat.format3(periodicity.meanNs / 1e9),
            "stddev_s": InspectFormat.format3(periodicity.standardDeviationNs / 1e9),
            "cv": InspectFormat.format3(periodicity.coefficientOfVariation),
            "max_cv": InspectFormat.format3(configuration.maxCV),
            "first_seen": AlertBuilder.timestamp(nanoseconds: state.events.first ?? packet.timestampNs),
        ]
        // Score: 1 at the CV limit, higher the more regular.
        let score = configuration.maxCV / max(periodicity.coefficientOfVariation, configuration.maxCV / 10)
        return alerts.alert(InspectionSignatures.beaconing, module: name, packet: packet, flow: flow,
                            score: score, count: state.events.count, details: details)
    }
}
