/// Fills the common fields of the alerts the inspection modules raise: time, flow, host, VM and
/// BMA's reasons from the packet that triggered them.
public struct AlertBuilder: Sendable {
    /// Names of VMs by id; a VM without one is written "vm<ID>".
    public var vmNames: [UInt32: String]

    public init(vmNames: [UInt32: String] = [:]) {
        self.vmNames = vmNames
    }

    public func vmName(_ id: UInt32) -> String {
        vmNames[id] ?? "vm\(id)"
    }

    /// An alert about `flow` (as the module wants it read: src is the actor, e.g. the scanner),
    /// raised on `packet`. Ports are written for TCP and UDP only; `proto` overrides the
    /// protocol name (e.g. "ARP" for a flow without IP protocol). `timestampNs` defaults to the
    /// packet's time.
    public func alert(
        _ signature: Alert.Signature, module: String, packet: MirroredPacket, flow: FlowKey?,
        score: Double? = nil, count: Int = 1, details: [String: String] = [:],
        proto: String? = nil, timestampNs: UInt64? = nil
    ) -> Alert {
        let hasPorts = flow.map { $0.proto == 6 || $0.proto == 17 || $0.proto == 132 } ?? false
        var details = details
        if let flags = packet.metadata?.flags, !flags.names.isEmpty {
            details["bma_flags"] = flags.names.joined(separator: ",")
        }
        return Alert(
            timestamp: Self.timestamp(nanoseconds: timestampNs ?? packet.timestampNs),
            flow_id: flow.map { Self.flowID($0, vmID: packet.vmID) } ?? 0,
            community_id: nil,
            src_ip: flow?.srcIP, src_port: hasPorts ? flow?.srcPort : nil,
            dest_ip: flow?.dstIP, dest_port: hasPorts ? flow?.dstPort : nil,
            proto: proto ?? flow?.protoName,
            host: packet.sensor, vm: vmName(packet.vmID),
            alert: signature,
            bma: Alert.BMA(module: module, reasons: packet.metadata?.reasons.names ?? [],
                           score: score.map(Self.rounded), count: count, details: details),
            pcap: nil)
    }

    /// Three decimals, so that scores print short in JSON.
    static func rounded(_ value: Double) -> Double {
        guard value.isFinite else { return 0 }
        return (value * 1000).rounded() / 1000
    }

    // MARK: Timestamps

    /// RFC 3339 in UTC with microseconds and a "+0000" offset, as Suricata writes EVE
    /// timestamps: 2021-03-11T15:22:15.831389+0000.
    public static func timestamp(nanoseconds: UInt64) -> String {
        let seconds = Int64(nanoseconds / 1_000_000_000)
        let micros = Int((nanoseconds % 1_000_000_000) / 1_000)
        let days = seconds / 86_400
        let secondOfDay = Int(seconds % 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        return "\(pad(Int(year), 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(micros, 6))+0000"
    }

    /// Proleptic Gregorian date of a day count since 1970-01-01 (non-negative here). Works in
    /// 400-year cycles of 146,097 days counted from 0000-03-01, so that leap days fall at the
    /// end of each year of the cycle.
    static func civilDate(daysSinceEpoch days: Int64) -> (year: Int64, month: Int, day: Int) {
        let shifted = days + 719_468  // days from 0000-03-01 to 1970-01-01
        let cycle = shifted / 146_097
        let dayOfCycle = shifted - cycle * 146_097  // 0...146096
        let yearOfCycle = (dayOfCycle - dayOfCycle / 1_460 + dayOfCycle / 36_524 - dayOfCycle / 146_096) / 365
        let dayOfYear = dayOfCycle - (365 * yearOfCycle + yearOfCycle / 4 - yearOfCycle / 100)  // from March 1
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        let month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        let year = yearOfCycle + cycle * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    // MARK: Flow ids

    /// A stable hash of the flow and its VM: the same for both directions, the same in every
    /// process and on every node (FNV-1a over the endpoints in a canonical order, then a 64-bit
    /// finaliser). Kept to 53 bits so that JSON readers that hold numbers as doubles (jq,
    /// JavaScript) read it exactly. ICMP flows hash without their type and code, so that a
    /// request and its reply share one id.
    public static func flowID(_ flow: FlowKey, vmID: UInt32) -> UInt64 {
        let isICMP = flow.proto == 1 || flow.proto == 58
        let a = (PacketView.Address(flow.srcIP)?.octets ?? Array(flow.srcIP.utf8), isICMP ? 0 : flow.srcPort)
        let b = (PacketView.Address(flow.dstIP)?.octets ?? Array(flow.dstIP.utf8), isICMP ? 0 : flow.dstPort)
        let (low, high) = a.0.lexicographicallyPrecedes(b.0) || (a.0 == b.0 && a.1 <= b.1) ? (a, b) : (b, a)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        for shift in stride(from: 24, through: 0, by: -8) { mix(UInt8(truncatingIfNeeded: vmID >> UInt32(shift))) }
        mix(flow.proto)
        for endpoint in [low, high] {
            mix(UInt8(endpoint.0.count))
            endpoint.0.forEach(mix)
            mix(UInt8(endpoint.1 >> 8))
            mix(UInt8(truncatingIfNeeded: endpoint.1))
        }
        // Finaliser: spreads FNV's weak high bits.
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        hash ^= hash >> 31
        return hash & 0x001F_FFFF_FFFF_FFFF
    }
}
