import BMAContract
import Control
import Dataplane

/// Turns the configuration file into what the dataplane runs.
enum SetupBuilder {
    static func detection(_ d: BmadConfig.Detection) -> DetectionSettings {
        var s = DetectionSettings()
        s.sensitivity = d.sensitivity
        s.learningNs = UInt64(d.learningSeconds * 1e9)
        s.stickyNs = UInt64(d.stickySeconds * 1e9)
        s.preTriggerPackets = d.preTriggerPackets
        s.preTriggerNs = UInt64(d.preTriggerSeconds * 1e9)
        s.promoteNs = UInt64(d.promoteSeconds * 1e9)
        return s
    }

    static func mirror(_ m: BmadConfig.Mirror?) -> MirrorSetup {
        var s = MirrorSetup()
        guard let m else { return s }
        s.encapsulation = MirrorEncapsulation(name: m.encapsulation) ?? .geneve
        s.collectors = m.collectors
        s.nextHopMAC = m.nextHopMAC
        s.sourceIP = m.sourceIP
        s.snaplen = m.snaplen
        s.mbufs = m.mbufs
        s.vmPacketsPerSecond = m.vmPacketsPerSecond
        s.vmBytesPerSecond = m.vmBytesPerSecond
        s.totalPacketsPerSecond = m.totalPacketsPerSecond
        s.totalBytesPerSecond = m.totalBytesPerSecond
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
        setup.mbufs = config.mempool.mbufs
        setup.mbufCache = config.mempool.cache
        setup.mbufDataRoom = config.mempool.dataRoom
        setup.rxDescriptors = config.queues.rxDescriptors
        setup.txDescriptors = config.queues.txDescriptors
        setup.detection = detection(config.detection)
        setup.mirror = mirror(config.mirror)
        return setup
    }
}
