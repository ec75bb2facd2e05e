import BMAContract

/// `mirror.force`: mirror a VM (or one of its flows) regardless of its score for `seconds`;
/// `seconds: 0` cancels.
public struct MirrorForceRequest: BmadRequest {
    public typealias Response = Forced
    public static let method = BmadMethod.mirrorForce
    public var vm: VMReference
    public var seconds: Double
    public var flow: Flow?

    /// The longest forced mirroring, one day.
    public static let secondsRange: ClosedRange<Double> = 0...86_400

    public init(vm: VMReference, seconds: Double, flow: Flow? = nil) {
        self.vm = vm
        self.seconds = seconds
        self.flow = flow
    }

    public init(params: Params) throws(ControlError) {
        vm = try params.vm()
        seconds = try params.double("seconds", in: Self.secondsRange)
        flow = try params.optionalObject("flow").map { (p: Params) throws(ControlError) in try Flow(params: p) }
    }

    public var params: [String: JSONValue] {
        var out: [String: JSONValue] = ["vm": vm.json, "seconds": .number(seconds)]
        if let flow { out["flow"] = .object(flow.params) }
        return out
    }

    public static var example: Self {
        Self(vm: .name("web1"), seconds: 30, flow: Flow(source: "10.0.0.1", destination: "10.0.0.2", protocolName: "udp",
                                                        sourcePort: 5353, destinationPort: 53))
    }

    /// One flow of the VM: addresses as text, the protocol by name or number, ports (0: any).
    public struct Flow: Sendable, Equatable {
        public var source: String
        public var destination: String
        /// `tcp`, `udp`, `icmp` or a number; bmad checks it.
        public var protocolName: String
        public var sourcePort: UInt16
        public var destinationPort: UInt16

        public init(source: String, destination: String, protocolName: String, sourcePort: UInt16 = 0, destinationPort: UInt16 = 0) {
            self.source = source
            self.destination = destination
            self.protocolName = protocolName
            self.sourcePort = sourcePort
            self.destinationPort = destinationPort
        }

        /// `proto` is a name or a number (an integer is taken as its decimal text).
        init(params p: Params) throws(ControlError) {
            source = try p.string("src")
            destination = try p.string("dst")
            if let n = p.value("proto")?.intValue {
                protocolName = String(n)
            } else {
                protocolName = try p.string("proto")
            }
            sourcePort = UInt16(try p.optionalInt("src_port", in: 0...65535) ?? 0)
            destinationPort = UInt16(try p.optionalInt("dst_port", in: 0...65535) ?? 0)
        }

        public var params: [String: JSONValue] {
            ["src": .string(source), "dst": .string(destination), "proto": .string(protocolName),
             "src_port": .number(Double(sourcePort)), "dst_port": .number(Double(destinationPort))]
        }
    }

    /// `{vm, until, seconds}` (`until` in ISO 8601); a cancel is `{vm, until: null, cancelled: true}`.
    /// `flow_hash` names the flow when one was given.
    public struct Forced: Codable, Sendable, Equatable {
        public var vm: String
        public var until: String?
        public var seconds: Double?
        public var cancelled: Bool?
        public var flowHash: UInt32?

        public init(vm: String, until: String?, seconds: Double?, cancelled: Bool?, flowHash: UInt32?) {
            self.vm = vm
            self.until = until
            self.seconds = seconds
            self.cancelled = cancelled
            self.flowHash = flowHash
        }

        enum CodingKeys: String, CodingKey {
            case vm, until, seconds, cancelled
            case flowHash = "flow_hash"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(vm, forKey: .vm)
            try c.encodeOrNull(until, forKey: .until)
            try c.encodeIfPresent(seconds, forKey: .seconds)
            try c.encodeIfPresent(cancelled, forKey: .cancelled)
            try c.encodeIfPresent(flowHash, forKey: .flowHash)
        }
    }
}
