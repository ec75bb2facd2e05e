import Foundation

/// Something that looks into mirrored packets and raises alerts.
///
/// `inspect` sees every packet the pipeline receives, decoded once into `view`; `tick` is
/// called periodically (packet time) so that a module can expire state and raise alerts that
/// depend on time passing. Modules keep bounded state whatever the input. Times are the
/// packets' own (`MirroredPacket.timestampNs`), so replaying a capture gives the same alerts.
public protocol InspectionModule: AnyObject {
    var name: String { get }
    func inspect(_ packet: MirroredPacket, _ view: PacketView, emit: (Alert) -> Void)
    func tick(nowNs: UInt64, emit: (Alert) -> Void)
}

/// Runs the enabled modules on each packet and ticks them periodically.
///
/// Safe to call from several threads (calls are serialised); modules are only called by the
/// pipeline, one call at a time.
public final class InspectionPipeline: @unchecked Sendable {
    public struct Statistics: Sendable, Codable, Equatable {
        public var packets: Int = 0
        /// Packets whose decoding stopped at a malformed header, by reason.
        public var malformed: [String: Int] = [:]
        /// Packets without an IP header (ARP, other EtherTypes, runts).
        public var nonIP: Int = 0
        public var ticks: Int = 0
        /// Alerts raised, by module name.
        public var alerts: [String: Int] = [:]
    }

    private let lock = StateLock()
    private var entries: [(module: any InspectionModule, enabled: Bool)]
    private let tickIntervalNs: UInt64
    private var clockNs: UInt64 = 0
    private var nextTickNs: UInt64 = 0
    private var statistics = Statistics()
    /// Alerts raised by each entry (same positions as `entries`); `stats` names them.
    private var alertCounts: [Int]
    /// The enabled entries' modules with their positions, rebuilt when an entry changes.
    private var running: ContiguousArray<(module: any InspectionModule, position: Int)> = []

    /// - Parameters:
    ///   - modules: run in this order on every packet.
    ///   - tickIntervalNs: how often (packet time) every module is ticked.
    public init(modules: [any InspectionModule], tickIntervalNs: UInt64 = 1_000_000_000) {
        entries = modules.map { ($0, true) }
        alertCounts = Array(repeating: 0, count: modules.count)
        self.tickIntervalNs = max(1, tickIntervalNs)
        rebuildRunning()
    }

    /// The built-in modules with their default settings, naming VMs with `vmNames`.
    public static func builtIn(vmNames: [UInt32: String] = [:]) -> InspectionPipeline {
        let builder = AlertBuilder(vmNames: vmNames)
        return InspectionPipeline(modules: [
            ScanModule(alerts: builder), DNSTunnelModule(alerts: builder), ExfiltrationModule(alerts: builder),
            BeaconingModule(alerts: builder), PerformanceModule(alerts: builder),
        ])
    }

    public var moduleNames: [String] { lock.withLock { entries.map(\.module.name) } }

    public func module(named name: String) -> (any InspectionModule)? {
        lock.withLock { entries.first { $0.module.name == name }?.module }
    }

    public func isEnabled(_ name: String) -> Bool {
        lock.withLock { entries.first { $0.module.name == name }?.enabled ?? false }
    }

    /// Enables or disables a module by name; false when there is no such module.
    @discardableResult
    public func setEnabled(_ name: String, _ enabled: Bool) -> Bool {
        lock.withLock {
            guard let index = entries.firstIndex(where: { $0.module.name == name }) else { return false }
            entries[index].enabled = enabled
            rebuildRunning()
            return true
        }
    }

    public func add(_ module: any InspectionModule, enabled: Bool = true) {
        lock.withLock {
            entries.append((module, enabled))
            alertCounts.append(0)
            rebuildRunning()
        }
    }

    public var stats: Statistics {
        lock.withLock {
            var s = statistics
            for (index, count) in alertCounts.enumerated() where count > 0 { s.alerts[entries[index].module.name, default: 0] += count }
            return s
        }
    }

    private func rebuildRunning() {
        running = ContiguousArray(entries.indices.filter { entries[$0].enabled }.map { (entries[$0].module, $0) })
    }

    /// Decodes the packet, runs every enabled module on it, and ticks them when the tick
    /// interval has passed in packet time.
    public func process(_ packet: MirroredPacket, emit: (Alert) -> Void) {
        process(packet, view: PacketView(packet: packet), emit: emit)
    }

    /// Runs the modules on a packet already decoded into `view`.
    public func process(_ packet: MirroredPacket, view: PacketView, emit: (Alert) -> Void) {
        lock.withLock {
            statistics.packets += 1
            if let malformed = view.malformed { statistics.malformed[malformed.description, default: 0] += 1 }
            if view.ip == nil { statistics.nonIP += 1 }
            // The enabled modules as plain class references: no existential copy, no name
            // string per module and packet; alerts are counted by position.
            for index in running.indices {
                running[index].module.inspect(packet, view) { alert in
                    alertCounts[running[index].position] += 1
                    emit(alert)
                }
            }
            clockNs = max(clockNs, packet.timestampNs)
            if nextTickNs == 0 { nextTickNs = clockNs &+ tickIntervalNs }
            if clockNs >= nextTickNs {
                tickLocked(emit: emit)
                nextTickNs = clockNs &+ tickIntervalNs
            }
        }
    }

    /// Ticks every enabled module at `nowNs` (in the packets' time base; a time behind the
    /// latest packet's is raised to it). For idle periods and the end of a replay.
    public func tick(nowNs: UInt64, emit: (Alert) -> Void) {
        lock.withLock {
            clockNs = max(clockNs, nowNs)
            tickLocked(emit: emit)
            nextTickNs = clockNs &+ tickIntervalNs
        }
    }

    /// The latest time the pipeline has seen.
    public var nowNs: UInt64 { lock.withLock { clockNs } }

    private func tickLocked(emit: (Alert) -> Void) {
        statistics.ticks += 1
        for (module, position) in running {
            module.tick(nowNs: clockNs) { alert in
                alertCounts[position] += 1
                emit(alert)
            }
        }
    }
}
