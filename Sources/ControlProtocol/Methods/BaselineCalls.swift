import BMAContract

/// `baseline.show`: a summary of a VM's baseline and its services.
public struct BaselineShowRequest: BmadVMRequest {
    public typealias Response = Summary
    public static let method = BmadMethod.baselineShow
    public var vm: VMReference
    public init(vm: VMReference) { self.vm = vm }

    public struct Summary: Codable, Sendable, Equatable {
        public var vm: String
        public var learnedPackets: UInt64
        public var learning: Bool
        public var frozen: Bool
        public var services: [Service]
        public var hosts: Int
        public var destinations: Int
        /// The baseline's fixed memory per VM.
        public var memoryBytes: Int

        public init(vm: String, learnedPackets: UInt64, learning: Bool, frozen: Bool, services: [Service],
                    hosts: Int, destinations: Int, memoryBytes: Int) {
            self.vm = vm
            self.learnedPackets = learnedPackets
            self.learning = learning
            self.frozen = frozen
            self.services = services
            self.hosts = hosts
            self.destinations = destinations
            self.memoryBytes = memoryBytes
        }

        enum CodingKeys: String, CodingKey {
            case vm, learning, frozen, services, hosts, destinations
            case learnedPackets = "learned_packets", memoryBytes = "memory_bytes"
        }
    }

    public struct Service: Codable, Sendable, Equatable {
        /// Readable: `udp/53`, `tcp6/443`, `icmp type 8`, `arp`.
        public var key: String
        public var packets: UInt64
        public var peak: Double
        public var sizeMean: Double
        public var sizeStd: Double

        public init(key: String, packets: UInt64, peak: Double, sizeMean: Double, sizeStd: Double) {
            self.key = key
            self.packets = packets
            self.peak = peak
            self.sizeMean = sizeMean
            self.sizeStd = sizeStd
        }

        enum CodingKeys: String, CodingKey {
            case key, packets, peak
            case sizeMean = "size_mean", sizeStd = "size_std"
        }
    }
}

/// `baseline.freeze`: the baseline keeps judging but learns nothing.
public struct BaselineFreezeRequest: BmadVMRequest {
    public typealias Response = BaselineFrozen
    public static let method = BmadMethod.baselineFreeze
    public var vm: VMReference
    public init(vm: VMReference) { self.vm = vm }
}

/// `baseline.unfreeze`: the baseline learns again.
public struct BaselineUnfreezeRequest: BmadVMRequest {
    public typealias Response = BaselineFrozen
    public static let method = BmadMethod.baselineUnfreeze
    public var vm: VMReference
    public init(vm: VMReference) { self.vm = vm }
}

/// The answer to `baseline.freeze` and `baseline.unfreeze`.
public struct BaselineFrozen: Codable, Sendable, Equatable {
    public var vm: String
    public var frozen: Bool
    public init(vm: String, frozen: Bool) {
        self.vm = vm
        self.frozen = frozen
    }
}

/// `baseline.reset`: forgets everything; the VM learns again from its next packet.
public struct BaselineResetRequest: BmadVMRequest {
    public typealias Response = VMDone
    public static let method = BmadMethod.baselineReset
    public var vm: VMReference
    public init(vm: VMReference) { self.vm = vm }
}

/// The answer of a change to one VM: `{vm}`, the VM's name.
public struct VMDone: Codable, Sendable, Equatable {
    public var vm: String
    public init(vm: String) { self.vm = vm }
}

/// `baseline.export`: the VM's baseline as a self-contained document. The document's type is the
/// dataplane's; the tools carry it as JSON.
public struct BaselineExportRequest: BmadVMRequest {
    public typealias Response = Export
    public static let method = BmadMethod.baselineExport
    public var vm: VMReference
    public init(vm: VMReference) { self.vm = vm }

    public struct Export: Codable, Sendable, Equatable {
        public var vm: String
        public var baseline: JSONValue
        public init(vm: String, baseline: JSONValue) {
            self.vm = vm
            self.baseline = baseline
        }
    }
}

/// `baseline.import`: replaces the VM's baseline with an exported document.
public struct BaselineImportRequest: BmadRequest {
    public typealias Response = VMDone
    public static let method = BmadMethod.baselineImport
    public var vm: VMReference
    /// A document as `baseline.export` gave it (bmad checks it).
    public var baseline: JSONValue

    public init(vm: VMReference, baseline: JSONValue) {
        self.vm = vm
        self.baseline = baseline
    }

    public init(params: Params) throws(ControlError) {
        self.init(vm: try params.vm(), baseline: try params.required("baseline"))
    }

    public var params: [String: JSONValue] { ["vm": vm.json, "baseline": baseline] }
    public static var example: Self { Self(vm: .id(101), baseline: ["format": 1]) }
}
