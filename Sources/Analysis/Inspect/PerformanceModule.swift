import Foundation

/// Network performance per (VM, destination): TCP handshake RTT, retransmissions, resets, zero
/// windows and throughput, readable with `report()`, and low-severity alerts when a measurement
/// period (`periodNs`, packet time) crosses a threshold:
///
/// | signature | id | when, within one period |
/// |---|---|---|
/// | high TCP handshake RTT | 9,200,500 | mean RTT > `maxRTTNs` over >= `minRTTSamples` handshakes |
/// | high retransmission rate | 9,200,501 | retransmitted / data segments > `maxRetransmissionRate` over >= `minDataSegments`, with 95 % confidence (Wilson lower bound) |
/// | many resets | 9,200,502 | >= `maxResets` RSTs |
/// | zero windows | 9,200,503 | >= `maxZeroWindows` times a side's window fell to 0 |
///
/// All severity 3, category "Network Performance". The handshake RTT is SYN -> SYN/ACK -> ACK
/// (the last SYN before the SYN/ACK, so SYN retries count as `syn_retries`, not as delay); it
/// needs both directions. A retransmission is a segment with payload that starts before the
/// highest sequence already sent that way (TCP keep-alives excluded); with one direction only,
/// only that direction's are seen. The destination is the server side (SYN receiver, or the
/// service port's owner for connections picked up mid-stream).
public final class PerformanceModule: InspectionModule, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var periodNs: UInt64 = 60_000_000_000
        public var maxRTTNs: UInt64 = 500_000_000
        public var minRTTSamples = 3
        public var maxRetransmissionRate = 0.05
        public var minDataSegments = 100
        public var maxResets = 20
        public var maxZeroWindows = 10
        /// TCP connections followed at once, and how long an idle one is kept.
        public var maxFlows = 65_536
        public var flowIdleNs: UInt64 = 300_000_000_000
        /// (VM, destination) entries kept for the report, and how long an idle one stays.
        public var maxDestinations = 4_096
        public var destinationRetentionNs: UInt64 = 7 * 86_400_000_000_000

        public init() {}
    }

    struct Direction {
        var started = false
        var highestEnd: UInt32 = 0
        var zeroWindow = false
    }

    struct Flow {
        var initiator: InspectFlowTuple
        var synNs: UInt64?
        var synAckNs: UInt64?
        var timed = false
        var client = Direction()
        var server = Direction()
    }

    struct Counters {
        var handshakes = 0
        var rttSumNs: UInt64 = 0
        var rttMinNs: UInt64 = .max
        var rttMaxNs: UInt64 = 0
        var rttLastNs: UInt64 = 0
        var dataSegments = 0
        var retransmissions = 0
        var synRetries = 0
        var resets = 0
        var zeroWindows = 0
        var bytesTo: UInt64 = 0
        var bytesFrom: UInt64 = 0

        mutating func addRTT(_ rtt: UInt64) {
            handshakes += 1
            rttSumNs &+= rtt
            rttMinNs = min(rttMinNs, rtt)
            rttMaxNs = max(rttMaxNs, rtt)
            rttLastNs = rtt
        }
    }

    struct Destination {
        var client: PacketView.Address
        var flows = 0
        var total = Counters()
        var period = Counters()
        var periodStartNs: UInt64
        var firstNs: UInt64
        var lastNs: UInt64
        var alerts = 0
        /// What alerts need of the latest packet (host, VM, time, reasons), kept without the
        /// packet itself: no reference counting per packet (the sensor name is assigned only
        /// when it changes).
        var lastSensor: String
        var lastVM: UInt32
        var lastTimestampNs: UInt64
        var lastEncapsulation: MirroredPacket.Encapsulation
        var lastMetadata: BMAMetadata?

        /// The latest packet without its frame.
        var lastPacket: MirroredPacket {
            MirroredPacket(receivedNs: lastTimestampNs, timestampNs: lastTimestampNs, sensor: lastSensor, vmID: lastVM,
                           encapsulation: lastEncapsulation, metadata: lastMetadata, frame: [], originalLength: 0)
        }

        mutating func remember(_ packet: MirroredPacket) {
            if lastSensor != packet.sensor { lastSensor = packet.sensor }
            lastVM = packet.vmID
            lastTimestampNs = packet.timestampNs
            lastEncapsulation = packet.encapsulation
            lastMetadata = packet.metadata
        }
        /// Formatted only when an alert is raised.
        var lastFlow: InspectFlowTuple
    }

    public let name = "performance"
    public let configuration: Configuration
    public let alerts: AlertBuilder
    private let lock = StateLock()
    private var flows: InspectLRU<InspectFlowTuple, Flow>
    private var destinations: InspectLRU<InspectHostKey, Destination>
    private var clockNs: UInt64 = 0

    public init(configuration: Configuration = Configuration(), alerts: AlertBuilder = AlertBuilder()) {
        self.configuration = configuration
        self.alerts = alerts
        flows = InspectLRU(capacity: configuration.maxFlows)
        destinations = InspectLRU(capacity: configuration.maxDestinations)
    }

    public var trackedState: (flows: Int, destinations: Int) {
        lock.withLock { (flows.count, destinations.count) }
    }

    public func inspect(_ packet: MirroredPacket, _ view: PacketView, emit: (Alert) -> Void) {
        guard let tcp = view.tcp, let tuple = view.tuple(vm: packet.vmID), let ip = view.ip else { return }
        let now = packet.timestampNs
        var raised: [Alert] = []
        defer { raised.forEach(emit) }
        lock.withLock {
            clockNs = max(clockNs, now)
            let key = ConnectionRoles.canonical(tuple)
            var counters = Counters()
            var initiator = tuple
            var newFlow = false
            flows.update(key, nowNs: now, make: {
                newFlow = true
                return Flow(initiator: ConnectionRoles.guess(tuple, tcp: tcp))
            }) { flow in
                if tcp.isSYNOnly, flow.initiator != tuple, !flow.client.started {
                    flow.initiator = tuple
                }
                initiator = flow.initiator
                track(&flow, tcp: tcp, outbound: flow.initiator == tuple, now: now, counters: &counters)
            }
            if initiator == tuple {
                counters.bytesTo = UInt64(ip.totalLength)
            } else {
                counters.bytesFrom = UInt64(ip.totalLength)
            }
            let destinationKey = InspectHostKey(vm: packet.vmID, host: initiator.destination)
            let flowKey = initiator
            destinations.update(destinationKey, nowNs: now, make: {
                Destination(client: initiator.source, periodStartNs: now, firstNs: now, lastNs: now, lastSensor: packet.sensor,
                            lastVM: packet.vmID, lastTimestampNs: now, lastEncapsulation: packet.encapsulation,
                            lastMetadata: packet.metadata, lastFlow: flowKey)
            }) { destination in
                // A period that ended while the destination was idle is judged before this
                // packet starts the next one.
                if now >= destination.periodStartNs &+ configuration.periodNs {
                    let found = evaluate(destination, key: destinationKey, nowNs: destination.periodStartNs &+ configuration.periodNs)
                    destination.alerts += found.count
                    raised += found
                    destination.period = Counters()
                    destination.periodStartNs = now
                }
                if newFlow { destination.flows += 1 }
                destination.client = initiator.source
                destination.lastNs = max(destination.lastNs, now)
                destination.remember(packet)
                destination.lastFlow = flowKey
                Self.add(counters, to: &destination.total)
                Self.add(counters, to: &destination.period)
            }
        }
    }

    /// Updates one connection with a segment; what it measured goes to `counters`.
    private func track(_ flow: inout Flow, tcp: PacketView.TCP, outbound: Bool, now: UInt64, counters: inout Counters) {
        if tcp.flags.contains(.rst) {
            counters.resets += 1
            return
        }
        // Handshake timing.
        if tcp.isSYNOnly, outbound {
            if flow.synNs != nil, flow.synAckNs == nil { counters.synRetries += 1 }
            if flow.synAckNs == nil { flow.synNs = now }
        } else if tcp.isSYNACK, !outbound {
            if flow.synNs != nil, flow.synAckNs == nil { flow.synAckNs = now }
        } else if outbound, tcp.flags.contains(.ack), !flow.timed, let syn = flow.synNs, flow.synAckNs != nil {
            flow.timed = true
            counters.addRTT(now >= syn ? now - syn : 0)
        }
        // Sequence space of this direction.
        var direction = outbound ? flow.client : flow.server
        let length = UInt32(truncatingIfNeeded: tcp.payloadLength)
            &+ (tcp.flags.contains(.syn) ? 1 : 0) &+ (tcp.flags.contains(.fin) ? 1 : 0)
        let end = tcp.sequence &+ length
        if tcp.payloadLength > 0 {
            counters.dataSegments += 1
            if direction.started, Self.before(tcp.sequence, direction.highestEnd) {
                let keepAlive = tcp.payloadLength == 1 && tcp.sequence &+ 1 == direction.highestEnd
                if !keepAlive { counters.retransmissions += 1 }
            }
        }
        if !direction.started {
            direction.started = true
            direction.highestEnd = end
        } else if Self.before(direction.highestEnd, end) {
            direction.highestEnd = end
        }
        // A window closing (not its repeats) counts once.
        if tcp.window == 0, !tcp.flags.contains(.syn) {
            if !direction.zeroWindow { counters.zeroWindows += 1 }
            direction.zeroWindow = true
        } else {
            direction.zeroWindow = false
        }
        if outbound { flow.client = direction } else { flow.server = direction }
    }

    /// The lower end of the 95 % Wilson score interval of a proportion: the rate the data
    /// show at least, so that a few losses in a small sample do not pass for a bad path.
    static func wilsonLowerBound(successes: Int, trials: Int, z: Double = 1.96) -> Double {
        guard trials > 0 else { return 0 }
        let n = Double(trials)
        let p = Double(successes) / n
        let z2 = z * z
        let centre = p + z2 / (2 * n)
        let margin = z * ((p * (1 - p) + z2 / (4 * n)) / n).squareRoot()
        return max(0, (centre - margin) / (1 + z2 / n))
    }

    /// Serial-number order (RFC 1982) of 32-bit sequence numbers.
    static func before(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }

    static func add(_ c: Counters, to total: inout Counters) {
        if c.handshakes > 0 {
            total.handshakes += c.handshakes
            total.rttSumNs &+= c.rttSumNs
            total.rttMinNs = min(total.rttMinNs, c.rttMinNs)
            total.rttMaxNs = max(total.rttMaxNs, c.rttMaxNs)
            total.rttLastNs = c.rttLastNs
        }
        total.dataSegments += c.dataSegments
        total.retransmissions += c.retransmissions
        total.synRetries += c.synRetries
        total.resets += c.resets
        total.zeroWindows += c.zeroWindows
        total.bytesTo &+= c.bytesTo
        total.bytesFrom &+= c.bytesFrom
    }

    public func tick(nowNs: UInt64, emit: (Alert) -> Void) {
        var raised: [Alert] = []
        lock.withLock {
            clockNs = max(clockNs, nowNs)
            let idle = configuration.flowIdleNs
            flows.expire(before: nowNs > idle ? nowNs - idle : 0)
            let retention = configuration.destinationRetentionNs
            destinations.expire(before: nowNs > retention ? nowNs - retention : 0)
            destinations.modifyAll { key, destination in
                guard nowNs >= destination.periodStartNs &+ configuration.periodNs else { return }
                let found = evaluate(destination, key: key, nowNs: nowNs)
                destination.alerts += found.count
                raised += found
                destination.period = Counters()
                destination.periodStartNs = nowNs
            }
        }
        raised.forEach(emit)
    }

    /// The alerts one finished period calls for.
    private func evaluate(_ destination: Destination, key: InspectHostKey, nowNs: UInt64) -> [Alert] {
        let period = destination.period
        let seconds = InspectFormat.seconds(nowNs &- destination.periodStartNs)
        var found: [Alert] = []
        func alert(_ signature: Alert.Signature, score: Double, count: Int, _ details: [String: String]) {
            var details = details
            details["period_s"] = seconds
            details["destination"] = key.host.description
            found.append(alerts.alert(signature, module: name, packet: destination.lastPacket, flow: destination.lastFlow.flowKey,
                                      score: score, count: count, details: details, timestampNs: nowNs))
        }
        if period.handshakes >= configuration.minRTTSamples {
            let mean = period.rttSumNs / UInt64(period.handshakes)
            if mean > configuration.maxRTTNs {
                alert(InspectionSignatures.slowHandshake, score: Double(mean) / Double(configuration.maxRTTNs),
                      count: period.handshakes, [
                        "rtt_mean_ms": InspectFormat.format3(Double(mean) / 1e6),
                        "rtt_max_ms": InspectFormat.format3(Double(period.rttMaxNs) / 1e6),
                        "handshakes": String(period.handshakes),
                        "threshold_ms": InspectFormat.format3(Double(configuration.maxRTTNs) / 1e6),
                      ])
            }
        }
        if period.dataSegments >= configuration.minDataSegments {
            let rate = Double(period.retransmissions) / Double(period.dataSegments)
            let lower = Self.wilsonLowerBound(successes: period.retransmissions, trials: period.dataSegments)
            if lower > configuration.maxRetransmissionRate {
                alert(InspectionSignatures.retransmissions, score: rate / configuration.maxRetransmissionRate,
                      count: period.retransmissions, [
                        "retransmissions": String(period.retransmissions),
                        "data_segments": String(period.dataSegments),
                        "rate": InspectFormat.format3(rate),
                        "rate_lower_bound": InspectFormat.format3(lower),
                        "threshold": InspectFormat.format3(configuration.maxRetransmissionRate),
                      ])
            }
        }
        if period.resets >= configuration.maxResets {
            alert(InspectionSignatures.resets, score: Double(period.resets) / Double(configuration.maxResets),
                  count: period.resets, ["resets": String(period.resets), "threshold": String(configuration.maxResets)])
        }
        if period.zeroWindows >= configuration.maxZeroWindows {
            alert(InspectionSignatures.zeroWindows, score: Double(period.zeroWindows) / Double(configuration.maxZeroWindows),
                  count: period.zeroWindows,
                  ["zero_windows": String(period.zeroWindows), "threshold": String(configuration.maxZeroWindows)])
        }
        return found
    }

    /// Everything measured so far, per (VM, destination).
    public func report() -> PerformanceReport {
        lock.withLock {
            var entries: [PerformanceReport.Entry] = []
            destinations.forEach { key, destination, _ in
                let total = destination.total
                let duration = Double(destination.lastNs &- destination.firstNs) / 1e9
                func rate(_ bytes: UInt64) -> Double { duration > 0 ? AlertBuilder.rounded(Double(bytes) / duration) : 0 }
                let rtt = total.handshakes == 0 ? nil : PerformanceReport.RTT(
                    samples: total.handshakes, min_ms: AlertBuilder.rounded(Double(total.rttMinNs) / 1e6),
                    mean_ms: AlertBuilder.rounded(Double(total.rttSumNs) / Double(total.handshakes) / 1e6),
                    max_ms: AlertBuilder.rounded(Double(total.rttMaxNs) / 1e6),
                    last_ms: AlertBuilder.rounded(Double(total.rttLastNs) / 1e6))
                entries.append(PerformanceReport.Entry(
                    vm: alerts.vmName(key.vm), vm_id: key.vm, destination: key.host.description,
                    client: destination.client.description, flows: destination.flows, handshakes: total.handshakes, rtt: rtt,
                    data_segments: total.dataSegments, retransmissions: total.retransmissions,
                    retransmission_rate: total.dataSegments == 0 ? 0
                        : AlertBuilder.rounded(Double(total.retransmissions) / Double(total.dataSegments)),
                    syn_retries: total.synRetries, resets: total.resets, zero_windows: total.zeroWindows,
                    bytes_to_destination: total.bytesTo, bytes_from_destination: total.bytesFrom,
                    throughput_to_bps: rate(total.bytesTo * 8), throughput_from_bps: rate(total.bytesFrom * 8),
                    first_seen: AlertBuilder.timestamp(nanoseconds: destination.firstNs),
                    last_seen: AlertBuilder.timestamp(nanoseconds: destination.lastNs), alerts: destination.alerts))
            }
            entries.sort { ($0.vm_id, $0.destination) < ($1.vm_id, $1.destination) }
            return PerformanceReport(timestamp: AlertBuilder.timestamp(nanoseconds: clockNs), entries: entries)
        }
    }
}
