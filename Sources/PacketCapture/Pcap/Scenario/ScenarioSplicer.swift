/// A labelled test capture: benign traffic with an attack spliced in.
public struct SplicedScenario: Sendable {
    public var capture: PcapCapture
    public var labels: ScenarioLabels
}

/// Builds a labelled scenario from a VM's benign capture and an attack capture: the attacker's
/// packets are rewritten to come from the VM, shifted in time and merged in, so the label of
/// every packet is known by construction.
public enum ScenarioSplicer {
    public static func splice(benign: PcapCapture, attack: PcapCapture, options: SpliceOptions) throws(SpliceError) -> SplicedScenario {
        for (name, capture) in [("benign", benign), ("attack", attack)] where capture.header.linkType != .ethernet {
            throw .unsupportedLinkType(capture: name, linkType: capture.header.linkType)
        }
        guard let benignStart = benign.records.first?.timestampNanoseconds else { throw .emptyBenignCapture }

        let summary = CaptureSummary(records: benign.records)
        guard let victimMAC = options.victimMAC ?? summary.mostFrequentSourceMAC else { throw .noVictimMAC }
        guard let victimIP = options.victimIP ?? summary.mostFrequentSourceIPv4(from: victimMAC) else {
            throw .noVictimIP(victimMAC: victimMAC)
        }

        var attackRecords = selectAttack(attack.records, options: options, victimMAC: victimMAC, victimIP: victimIP)
        guard let attackFirst = attackRecords.first?.timestampNanoseconds else {
            throw .noAttackPackets(attackerIP: options.attackerIP, includingReplies: options.includeReplies)
        }
        guard let offset = options.placement.offsetNanoseconds else { throw .placementOutOfRange }
        let (start, overflow) = benignStart.addingReportingOverflow(offset)
        guard !overflow else { throw .placementOutOfRange }
        for index in attackRecords.indices {
            guard let shifted = shift(attackRecords[index].timestampNanoseconds, from: attackFirst, to: start) else {
                throw .placementOutOfRange
            }
            attackRecords[index].timestampNanoseconds = shifted
        }

        let (merged, attackIndices) = merge(benign: benign.records, attack: attackRecords)
        let labels = ScenarioLabels(
            victimMAC: victimMAC.description, victimIP: victimIP.description,
            attackerIP: options.attackerIP.description, benignPackets: benign.records.count,
            attackIndices: attackIndices,
            attackStartNanoseconds: attackRecords.map(\.timestampNanoseconds).min() ?? start,
            attackEndNanoseconds: attackRecords.map(\.timestampNanoseconds).max() ?? start,
            includesReplies: options.includeReplies)
        return SplicedScenario(capture: PcapCapture(header: outputHeader(benign, attack, merged), records: merged), labels: labels)
    }

    /// The attacker's packets (and, if asked, the packets to it), rewritten as the victim's.
    static func selectAttack(_ records: [PcapRecord], options: SpliceOptions, victimMAC: MACAddress, victimIP: IPv4Address) -> [PcapRecord] {
        var selected: [PcapRecord] = []
        for record in records {
            var frame = EthernetFrame(record.data)
            let isSent = frame.ipv4Source == options.attackerIP
            let isReply = !isSent && options.includeReplies && frame.ipv4Destination == options.attackerIP
            guard isSent || isReply else { continue }
            if isSent {
                frame.setSourceMAC(victimMAC)
                if let gateway = options.gatewayMAC { frame.setDestinationMAC(gateway) }
            } else {
                frame.setDestinationMAC(victimMAC)
                if let gateway = options.gatewayMAC { frame.setSourceMAC(gateway) }
            }
            frame.replaceIPv4Address(options.attackerIP, with: victimIP)
            var rewritten = record
            rewritten.data = frame.bytes
            selected.append(rewritten)
        }
        return selected
    }

    /// Moves `time` so that `first` lands on `start`, keeping its distance to `first`.
    static func shift(_ time: UInt64, from first: UInt64, to start: UInt64) -> UInt64? {
        if time >= first {
            let (shifted, overflow) = start.addingReportingOverflow(time - first)
            return overflow ? nil : shifted
        }
        // An attack capture slightly out of order: the packet lands before `start`.
        let back = first - time
        return back <= start ? start - back : nil
    }

    /// Merges two streams by timestamp, keeping each stream's own order; benign first on ties.
    /// Returns the merged records and the positions of the attack records in it.
    static func merge(benign: [PcapRecord], attack: [PcapRecord]) -> ([PcapRecord], [Int]) {
        var merged: [PcapRecord] = []
        merged.reserveCapacity(benign.count + attack.count)
        var attackIndices: [Int] = []
        attackIndices.reserveCapacity(attack.count)
        var b = 0
        var a = 0
        while b < benign.count || a < attack.count {
            if a == attack.count || (b < benign.count && benign[b].timestampNanoseconds <= attack[a].timestampNanoseconds) {
                merged.append(benign[b])
                b += 1
            } else {
                attackIndices.append(merged.count)
                merged.append(attack[a])
                a += 1
            }
        }
        return (merged, attackIndices)
    }

    /// Little-endian Ethernet; nanosecond timestamps if either input has them; a snap length
    /// that covers every record.
    private static func outputHeader(_ benign: PcapCapture, _ attack: PcapCapture, _ records: [PcapRecord]) -> PcapFileHeader {
        let nanoseconds = benign.header.resolution == .nanoseconds || attack.header.resolution == .nanoseconds
        let longest = UInt32(clamping: records.map(\.data.count).max() ?? 0)
        return PcapFileHeader(
            resolution: nanoseconds ? .nanoseconds : .microseconds,
            snapLength: max(benign.header.snapLength, attack.header.snapLength, longest),
            linkType: .ethernet)
    }
}
