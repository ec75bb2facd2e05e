import BMAContract

/// `vm.list`: every VM with its counters.
public struct VMListRequest: BmadParameterless {
    public typealias Response = VMList
    public static let method = BmadMethod.vmList
    public init() {}

    public struct VMList: Codable, Sendable, Equatable {
        public var vms: [VM]
        public init(vms: [VM]) { self.vms = vms }
    }

    public struct VM: Codable, Sendable, Equatable {
        public var name: String
        public var id: UInt32
        /// nil (null) when the VM's configuration gives none.
        public var mac: String?
        /// nil (null) when the port cannot tell.
        public var linkUp: Bool?
        public var outgoing: UInt64
        public var mirrored: UInt64
        public var learning: Bool
        public var frozen: Bool
        /// nil (null): the VM follows the global sensitivity.
        public var sensitivity: Double?

        public init(name: String, id: UInt32, mac: String?, linkUp: Bool?, outgoing: UInt64, mirrored: UInt64,
                    learning: Bool, frozen: Bool, sensitivity: Double?) {
            self.name = name
            self.id = id
            self.mac = mac
            self.linkUp = linkUp
            self.outgoing = outgoing
            self.mirrored = mirrored
            self.learning = learning
            self.frozen = frozen
            self.sensitivity = sensitivity
        }

        enum CodingKeys: String, CodingKey {
            case name, id, mac, outgoing, mirrored, learning, frozen, sensitivity
            case linkUp = "link_up"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(id, forKey: .id)
            try c.encodeOrNull(mac, forKey: .mac)
            try c.encodeOrNull(linkUp, forKey: .linkUp)
            try c.encode(outgoing, forKey: .outgoing)
            try c.encode(mirrored, forKey: .mirrored)
            try c.encode(learning, forKey: .learning)
            try c.encode(frozen, forKey: .frozen)
            try c.encodeOrNull(sensitivity, forKey: .sensitivity)
        }
    }
}

/// `vm.show`: one VM's counters, reasons, detection state, port and forced-mirror expiry. An
/// open document: the dataplane's per-VM snapshot with bmad's additions.
public struct VMShowRequest: BmadVMRequest {
    public typealias Response = JSONValue
    public static let method = BmadMethod.vmShow
    public var vm: VMReference
    public init(vm: VMReference) { self.vm = vm }
}
