import Analysis
import Foundation

/// The packets an alert stands for: its VM's stored packets in the alert's window (the
/// module's `window_s`, else a minute) up to a second after it, between the alert's two hosts
/// (either direction); for a sweep of many hosts (`distinct_hosts`), everything its source sent
/// or received. An alert without addresses (storage) has none.
public struct AlertPackets: Sendable {
    public static let defaultWindowNs: UInt64 = 60_000_000_000

    public var vmID: UInt32
    public var range: TimeRange
    public var source: PacketView.Address
    /// nil: any peer of `source`.
    public var destination: PacketView.Address?

    public init?(_ stored: StoredAlert, vmID: UInt32?) {
        let a = stored.alert
        guard let vmID, let src = a.src_ip.flatMap(PacketView.Address.init) else { return nil }
        self.vmID = vmID
        source = src
        let sweep = a.bma.details["distinct_hosts"] != nil
        destination = sweep ? nil : a.dest_ip.flatMap(PacketView.Address.init)
        let window = a.bma.details["window_s"].flatMap(Double.init).map { UInt64(min(max($0, 1), 3600) * 1e9) } ?? Self.defaultWindowNs
        let t = stored.timestampNs
        range = TimeRange(since: t > window ? t - window : 0, until: t + 1_000_000_000)
    }

    public func matches(_ packet: MirroredPacket) -> Bool {
        guard let ip = PacketView(packet: packet).ip else { return false }
        let (s, d) = (ip.source, ip.destination)
        guard let destination else { return s == source || d == source }
        return (s == source && d == destination) || (s == destination && d == source)
    }

    /// The matching packets, in storage order, at most `limit`; and whether the limit cut them.
    public func packets(in store: ConsoleStore, limit: Int) throws -> (packets: [MirroredPacket], truncated: Bool) {
        var out: [MirroredPacket] = []
        var truncated = false
        try store.forEachPacket(vm: vmID, in: range, limit: store.packetLimit) { packet in
            guard matches(packet) else { return }
            if out.count < limit { out.append(packet) } else { truncated = true }
        }
        return (out, truncated)
    }
}
