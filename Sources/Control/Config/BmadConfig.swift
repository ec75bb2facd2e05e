/// The `bmad` configuration file (YAML). See config/bmad.example.yaml for every field.
public struct BmadConfig: Sendable, Equatable {
    public struct VM: Sendable, Equatable {
        public var name: String
        public var id: UInt32
        public var devargs: String
        /// 48-bit MAC, or nil to learn it from the VM's traffic.
        public var mac: UInt64?
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

    public var vms: [VM] = []
    public var uplink: String = ""
    public var mirror: String?
    /// Worker lcores; empty means every EAL worker lcore.
    public var workers: [UInt32] = []
    public var mempool = Mempool()
    public var queues = Queues()

    public init() {}
}
