import BMAContract
import Control
import Dataplane

/// Turns the configuration file into what the dataplane runs: what the file gives replaces the
/// dataplane's defaults (DetectionSettings, MirrorSetup, DataplaneSetup), the only place they
/// are written.
enum SetupBuilder {
    static func detection(_ d: BmadConfig.Detection) -> DetectionSettings {
        var s = DetectionSettings()
        if let v = d.sensitivity { s.sensitivity = v }
        if let v = d.learningSeconds { s.learningNs = nanoseconds(v) }
        if let v = d.stickySeconds { s.stickyNs = nanoseconds(v) }
        if let v = d.preTriggerPackets { s.preTriggerPackets = v }
        if let v = d.preTriggerSeconds { s.preTriggerNs = nanoseconds(v) }
        if let v = d.promoteSeconds { s.promoteNs = nanoseconds(v) }
        if let v = d.targetMirrorRate { s.targetMirrorRate = v }
        if let v = d.prefixV4 { s.prefixV4Bits = v }
        if let v = d.prefixV6 { s.prefixV6Bits = v }
        return s
    }

    static func mirror(_ m: BmadConfig.Mirror?) -> MirrorSetup {
        var s = MirrorSetup()
        guard let m else { return s }
        if let v = m.encapsulation { s.encapsulation = v }
        s.collectors = m.collectors
        if let v = m.nextHopMAC { s.nextHopMAC = v }
        if let v = m.sourceIP { s.sourceIP = v }
        if let v = m.snaplen { s.snaplen = v }
        if let v = m.mbufs { s.mbufs = v }
        s.authentication = m.authentication
        if let v = m.vmPacketsPerSecond { s.vmPacketsPerSecond = v }
        if let v = m.vmBytesPerSecond { s.vmBytesPerSecond = v }
        if let v = m.totalPacketsPerSecond { s.totalPacketsPerSecond = v }
        if let v = m.totalBytesPerSecond { s.totalBytesPerSecond = v }
        return s
    }

    static func setup(_ config: BmadConfig) -> DataplaneSetup {
        var setup = DataplaneSetup(
            vms: config.vms.map {
                var vm = DataplaneSetup.VM(name: $0.name, id: $0.id, devargs: $0.devargs, mac: $0.mac)
                vm.sensitivity = $0.sensitivity
                return vm
            },
            uplinkDevargs: config.uplink, mirrorDevargs: config.mirror?.devargs)
        setup.workerLcores = config.workers
        if let v = config.mempool.mbufs { setup.mbufs = v }
        if let v = config.mempool.cache { setup.mbufCache = v }
        if let v = config.mempool.dataRoom { setup.mbufDataRoom = v }
        if let v = config.queues.rxDescriptors { setup.rxDescriptors = v }
        if let v = config.queues.txDescriptors { setup.txDescriptors = v }
        setup.detection = detection(config.detection)
        setup.mirror = mirror(config.mirror)
        return setup
    }

    static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(seconds * 1e9) }
}
