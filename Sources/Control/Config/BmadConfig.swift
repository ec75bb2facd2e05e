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

    public struct Detection: Sendable, Equatable {
        public var sensitivity: Double = 1
        public var learningSeconds: Double = 86_400
        public var stickySeconds: Double = 60
        public var preTriggerPackets: Int = 16
        public var preTriggerSeconds: Double = 2
        public var promoteSeconds: Double = 3600
    }

    public struct Mirror: Sendable, Equatable {
        public var devargs: String
        public var encapsulation: String = "geneve"
        /// IPv4 collectors in host order.
        public var collectors: [UInt32] = []
        public var nextHopMAC: UInt64 = 0
        public var sourceIP: UInt32 = 0
        public var snaplen: UInt32 = 0
        public var mbufs: UInt32 = 8191
        public var vmPacketsPerSecond: Double = 10_000
        public var vmBytesPerSecond: Double = 125_000_000
        public var totalPacketsPerSecond: Double = 100_000
        public var totalBytesPerSecond: Double = 1_250_000_000

        public init(devargs: String) { self.devargs = devargs }
    }

    public struct Mempool: Sendable, Equatable {
        public var mbufs: UInt32 = 16383
        public var cache: UInt32 = 256
        public var dataRoom: UInt16 = 2176
    }

    public struct Queues: Sendable, Equatable {
        public var rxDescriptors: UInt16 = 1024
        public var txDescriptors: UInt16 = 1024
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
