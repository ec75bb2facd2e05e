/// What the dataplane is asked to run: ports by role, pools, queues and workers.
/// Built by `bmad` from its configuration file; plain values only.
public struct DataplaneSetup: Sendable {
    public struct VM: Sendable {
        public var name: String
        public var id: UInt32
        public var devargs: String
        /// 48-bit MAC; nil to learn it from the VM's source MAC.
        public var mac: UInt64?
        /// Overrides the global sensitivity for this VM.
        public var sensitivity: Double?
        /// Replay: frames on this port that do not come from `mac` are traffic toward the VM.
        public var replayIncoming = false
        /// Replay: the capture time of each frame of the port's pcap, in order. Used as the
        /// packet clock because net_pcap (DPDK 22.11) offers no rx timestamp offload.
        public var captureTimes: [UInt64]?

        public init(name: String, id: UInt32, devargs: String, mac: UInt64? = nil) {
            self.name = name
            self.id = id
            self.devargs = devargs
            self.mac = mac
        }
    }

    public var vms: [VM]
    public var uplinkDevargs: String
    public var mirrorDevargs: String?
    /// Worker lcores; empty means every EAL worker lcore.
    public var workerLcores: [UInt32] = []
    public var mbufs: UInt32 = 16383
    public var mbufCache: UInt32 = 256
    public var mbufDataRoom: UInt16 = 2176
    public var rxDescriptors: UInt16 = 1024
    public var txDescriptors: UInt16 = 1024
    public var detection = DetectionSettings()
    public var mirror = MirrorSetup()
    /// Records per worker of why each packet was mirrored (replay's --decisions); 0: none.
    public var decisionLogCapacity = 0
    /// Count cycles per stage of the packet path (a few clock reads per burst).
    public var profileStages = false

    public init(vms: [VM], uplinkDevargs: String, mirrorDevargs: String? = nil) {
        self.vms = vms
        self.uplinkDevargs = uplinkDevargs
        self.mirrorDevargs = mirrorDevargs
    }
}

/// The role a port plays for the dataplane.
public enum PortRole: Sendable, Equatable {
    case vm(index: Int)
    case uplink
    case mirror

    public var name: String {
        switch self {
        case .vm: "vm"
        case .uplink: "uplink"
        case .mirror: "mirror"
        }
    }
}

/// Errors while bringing the dataplane up; each names what failed.
public struct DataplaneError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
