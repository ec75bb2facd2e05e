import BMAContract

/// The `bmad` configuration file (YAML). See config/bmad.example.yaml for every field.
public struct BmadConfig: Sendable, Equatable {
    public struct VM: Sendable, Equatable {
        public var name: String
        public var id: UInt32
        public var devargs: String
        /// 48-bit MAC, or nil to learn it from the VM's traffic.
        public var mac: UInt64?
        /// Overrides `detection.sensitivity` for this VM.
        public var sensitivity: Double?
    }

    /// `detection:`. A nil field was not given: bmad runs the dataplane's default
    /// (Dataplane's DetectionSettings, the one place those defaults are written).
    public struct Detection: Sendable, Equatable {
        public var sensitivity: Double?
        public var learningSeconds: Double?
        public var stickySeconds: Double?
        public var preTriggerPackets: Int?
        public var preTriggerSeconds: Double?
        public var promoteSeconds: Double?
        public var targetMirrorRate: Double?
        public var prefixV4: Int?
        public var prefixV6: Int?
    }

    /// `mirror:`. A nil field was not given: bmad runs Dataplane's MirrorSetup default.
    public struct Mirror: Sendable, Equatable {
        public var devargs: String
        public var encapsulation: MirrorEncapsulation?
        /// IPv4 collectors in host order.
        public var collectors: [UInt32] = []
        public var nextHopMAC: UInt64?
        public var sourceIP: UInt32?
        public var snaplen: UInt32?
        /// `authentication: {key_id, key_file}`: the key read from the file.
        public var authentication: MirrorKey?
        public var mbufs: UInt32?
        public var vmPacketsPerSecond: Double?
        public var vmBytesPerSecond: Double?
        public var totalPacketsPerSecond: Double?
        public var totalBytesPerSecond: Double?

        public init(devargs: String) { self.devargs = devargs }
    }

    /// `mempool:`; nil = Dataplane's DataplaneSetup default.
    public struct Mempool: Sendable, Equatable {
        public var mbufs: UInt32?
        public var cache: UInt32?
        public var dataRoom: UInt16?
    }

    /// `queues:`; nil = Dataplane's DataplaneSetup default.
    public struct Queues: Sendable, Equatable {
        public var rxDescriptors: UInt16?
        public var txDescriptors: UInt16?
    }

    /// The control socket and the state directory.
    public struct ControlPlane: Sendable, Equatable {
        public var socket = "/run/bma/bmad.sock"
        /// Group allowed on the socket besides root; nil = root only.
        public var group: String?
        public var stateDirectory = "/var/lib/bma"
        /// How often learned baselines are saved (seconds; 0 = only at exit).
        public var saveSeconds: Double = 300
    }

    public var vms: [VM] = []
    public var control = ControlPlane()
    /// Prometheus text metrics: "ADDRESS:PORT" (ADDRESS defaults to 127.0.0.1); nil = off.
    public var metricsListen: String?
    public var uplink: String = ""
    public var mirror: Mirror?
    public var detection = Detection()
    /// Worker lcores; empty means every EAL worker lcore.
    public var workers: [UInt32] = []
    public var mempool = Mempool()
    public var queues = Queues()

    public init() {}
}
