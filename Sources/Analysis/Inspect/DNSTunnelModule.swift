import Foundation

/// DNS tunnels: a client sending many distinct, long, random-looking names under one domain,
/// often with record types that carry data back (TXT, NULL, CNAME, MX, ANY).
///
/// Per (VM, client, registered domain), over tumbling windows of `windowNs`, the module counts
/// the queries, the distinct subdomains (the labels under the registered domain), their length,
/// the character entropy of all of them together, the record types and the names with octets
/// that hostnames never use. It raises signature 9,200,200 (severity 1) when a window holds at
/// least `minUniqueSubdomains` distinct subdomains and at least `minIndicators` of:
///
/// - `long-names`: mean subdomain length >= `longNameLength`, or a label >= `longLabelLength`;
/// - `high-entropy`: entropy >= `entropyBits` bits per character (measured over at least
///   `entropySampleBytes` octets);
/// - `unusual-types`: at least `unusualTypeFraction` of the queries ask for TXT, NULL, CNAME,
///   MX or ANY;
/// - `binary-labels`: at least `binaryNameFraction` of the names hold octets outside
///   letters, digits, "-" and "_";
/// - `high-rate`: at least `rateQueries` queries in the window;
///
/// or, alone, when a window holds `floodUniqueSubdomains` distinct subdomains. Queries for
/// names under `ignoredDomains` (reverse lookups by default) and mDNS are not counted.
public final class DNSTunnelModule: InspectionModule, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var windowNs: UInt64 = 60_000_000_000
        public var minUniqueSubdomains = 20
        public var minIndicators = 2
        public var longNameLength = 28.0
        public var longLabelLength = 40
        public var entropyBits = 4.4
        public var entropySampleBytes = 200
        public var unusualTypes: Set<UInt16> = [5, 10, 15, 16, 255]
        public var unusualTypeFraction = 0.5
        public var binaryNameFraction = 0.2
        public var rateQueries = 60
        public var floodUniqueSubdomains = 300
        /// Registered domains (lowercase) never counted.
        public var ignoredDomains: Set<String> = ["in-addr.arpa", "ip6.arpa"]
        /// Clients and domains tracked at once; distinct subdomains remembered per domain.
        public var maxTracked = 4_096
        public var maxUniqueRemembered = 512

        public init() {}
    }

    struct DomainState {
        var windowStartNs: UInt64
        var queries = 0
        var unique: Set<UInt64> = []
        var uniqueOverflow = 0
        var subdomainBytes = 0
        var names = 0
        var longestLabel = 0
        var histogram = [UInt32](repeating: 0, count: 256)
        var histogramTotal = 0
        var types: [UInt16: Int] = [:]
        var unusual = 0
        var binaryNames = 0
        var responses = 0
        var nxdomain = 0
        var answers = 0
        var alerted = false
        var sample = ""
        /// Formatted only when an alert is raised.
        var lastFlow: InspectFlowTuple?

        init(start: UInt64) { windowStartNs = start }

        var uniqueCount: Int { unique.count + uniqueOverflow }
    }

    struct Key: Hashable, SlotKey {
        var vm: UInt32
        var client: PacketView.Address
        var domain: String

        // DNS packets only: the domain's own hash is fine here.
        var slotHash: UInt64 {
            SlotHash.combine(UInt64(vm) &* 0xA076_1D64_78BD_642F ^ client.slotWord, UInt64(bitPattern: Int64(domain.hashValue)))
        }
    }

    public let name = "dns-tunnel"
    public let configuration: Configuration
    public let alerts: AlertBuilder
    private let lock = StateLock()
    private var states: InspectLRU<Key, DomainState>

    public init(configuration: Configuration = Configuration(), alerts: AlertBuilder = AlertBuilder()) {
        self.configuration = configuration
        self.alerts = alerts
        states = InspectLRU(capacity: configuration.maxTracked)
    }

    /// (client, domain) pairs tracked now.
    public var trackedCount: Int { lock.withLock { states.count } }

    public func inspect(_ packet: MirroredPacket, _ view: PacketView, emit: (Alert) -> Void) {
        guard let dns = view.dns, dns.opcode == 0, let question = dns.question, let ip = view.ip, let udpOrTCP = view.ports
        else { return }
        let labels = question.labels
        guard !labels.isEmpty else { return }
        let domain = DomainName.registeredDomain(labels)
        guard !configuration.ignoredDomains.contains(domain) else { return }
        let now = packet.timestampNs
        if dns.isResponse {
            guard udpOrTCP.source == 53 else { return }
            lock.withLock {
                states.modify(Key(vm: packet.vmID, client: ip.destination, domain: domain)) { state in
                    state.responses += 1
                    state.answers += dns.answerCount
                    if dns.responseCode == 3 { state.nxdomain += 1 }
                }
            }
            return
        }
        guard udpOrTCP.destination == 53 else { return }
        let key = Key(vm: packet.vmID, client: ip.source, domain: domain)
        let subdomain = DomainName.subdomainLabels(labels)
        let flow = view.tuple(vm: packet.vmID)
        let alert: Alert? = lock.withLock {
            states.update(key, nowNs: now, make: { DomainState(start: now) }) { state in
                if now &- state.windowStartNs >= configuration.windowNs || now < state.windowStartNs {
                    state = DomainState(start: now)
                }
                record(question: question, subdomain: subdomain, into: &state)
                state.lastFlow = flow
                guard !state.alerted, let indicators = verdict(state) else { return nil }
                state.alerted = true
                return makeAlert(state, key: key, indicators: indicators, packet: packet)
            }
        }
        if let alert { emit(alert) }
    }

    public func tick(nowNs: UInt64, emit: (Alert) -> Void) {
        lock.withLock {
            // A pair idle for two windows has nothing left to say.
            let idle = configuration.windowNs &* 2
            states.expire(before: nowNs > idle ? nowNs - idle : 0)
        }
    }

    private func record(question: PacketView.DNS.Question, subdomain: ArraySlice<[UInt8]>, into state: inout DomainState) {
        state.queries += 1
        state.types[question.type, default: 0] += 1
        if configuration.unusualTypes.contains(question.type) { state.unusual += 1 }
        if state.sample.isEmpty || subdomain.reduce(0, { $0 + $1.count }) > 0 {
            state.sample = String(question.name.prefix(160))
        }
        guard !subdomain.isEmpty else { return }
        let hash = DomainName.hash(subdomain)
        if !state.unique.contains(hash) {
            if state.unique.count < configuration.maxUniqueRemembered {
                state.unique.insert(hash)
            } else {
                state.uniqueOverflow += 1  // beyond the bound, every name counts as new
            }
        }
        state.names += 1
        var binary = false
        for label in subdomain {
            state.subdomainBytes += label.count
            state.longestLabel = max(state.longestLabel, label.count)
            if !DomainName.isHostnameLabel(label) { binary = true }
            for octet in DomainName.lowercased(label) { state.histogram[Int(octet)] += 1 }
            state.histogramTotal += label.count
        }
        if binary { state.binaryNames += 1 }
    }

    /// The indicators that fired, when they are enough for an alert.
    private func verdict(_ state: DomainState) -> [String]? {
        let unique = state.uniqueCount
        guard unique >= configuration.minUniqueSubdomains else { return nil }
        let indicators = self.indicators(state)
        if unique >= configuration.floodUniqueSubdomains { return ["many-subdomains"] + indicators }
        return indicators.count >= configuration.minIndicators ? indicators : nil
    }

    private func indicators(_ state: DomainState) -> [String] {
        var found: [String] = []
        let names = max(1, state.names)
        if Double(state.subdomainBytes) / Double(names) >= configuration.longNameLength
            || state.longestLabel >= configuration.longLabelLength {
            found.append("long-names")
        }
        if state.histogramTotal >= configuration.entropySampleBytes,
           DomainName.entropy(state.histogram, total: state.histogramTotal) >= configuration.entropyBits {
            found.append("high-entropy")
        }
        if Double(state.unusual) >= configuration.unusualTypeFraction * Double(max(1, state.queries)) {
            found.append("unusual-types")
        }
        if Double(state.binaryNames) >= configuration.binaryNameFraction * Double(names), state.binaryNames > 0 {
            found.append("binary-labels")
        }
        if state.queries >= configuration.rateQueries { found.append("high-rate") }
        return found
    }

    private func makeAlert(_ state: DomainState, key: Key, indicators: [String], packet: MirroredPacket) -> Alert {
        let elapsed = max(packet.timestampNs &- state.windowStartNs, 1)
        let types = state.types.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
            .prefix(6).map { "\(PacketView.DNS.typeName($0.key)):\($0.value)" }.joined(separator: ",")
        let details: [String: String] = [
            "domain": key.domain,
            "queries": String(state.queries),
            "unique_subdomains": String(state.uniqueCount),
            "mean_subdomain_length": InspectFormat.format3(Double(state.subdomainBytes) / Double(max(1, state.names))),
            "longest_label": String(state.longestLabel),
            "entropy_bits": InspectFormat.format3(DomainName.entropy(state.histogram, total: state.histogramTotal)),
            "query_types": types,
            "unusual_type_queries": String(state.unusual),
            "binary_names": String(state.binaryNames),
            "queries_per_s": InspectFormat.format3(Double(state.queries) / (Double(elapsed) / 1e9)),
            "responses": String(state.responses),
            "nxdomain": String(state.nxdomain),
            "indicators": indicators.joined(separator: ","),
            "sample_query": state.sample,
            "window_s": InspectFormat.seconds(configuration.windowNs),
        ]
        return alerts.alert(InspectionSignatures.dnsTunnel, module: name, packet: packet, flow: state.lastFlow?.flowKey,
                            score: Double(indicators.count) / Double(max(1, configuration.minIndicators)),
                            count: state.queries, details: details)
    }
}
