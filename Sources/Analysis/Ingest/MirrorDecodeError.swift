/// Why a datagram or frame could not be decoded as a copy mirrored by bmad.
///
/// Every decoder in `MirrorDecoder` answers with a `MirroredPacket` or one of these; none of them
/// traps on any input.
public enum MirrorDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The header (or part of the packet) that was being read.
    public enum Layer: String, Sendable, Hashable, CaseIterable {
        case ethernet, vlan, ipv4, ipv6, ipv6Extension, udp, gre, erspan, vxlan, geneve, geneveOption
        case bmaMetadata, innerFrame
    }

    /// Why a packet is not mirror traffic at all (as opposed to mirror traffic that is broken).
    public enum NotMirrorReason: Sendable, Hashable, CustomStringConvertible {
        /// The outer Ethernet frame carries neither IPv4 nor IPv6.
        case etherType(UInt16)
        /// The outer IP packet is neither UDP nor GRE.
        case ipProtocol(UInt8)
        /// The UDP destination port is neither the Geneve nor the VXLAN port.
        case udpPort(UInt16)
        /// A Geneve control (OAM) message: the O bit is set.
        case geneveControl

        public var description: String {
            switch self {
            case .etherType(let value): "outer EtherType 0x\(hex(value, width: 4)) is not IPv4 or IPv6"
            case .ipProtocol(let value): "outer IP protocol \(value) is not UDP or GRE"
            case .udpPort(let value): "UDP destination port \(value) is not a mirror port"
            case .geneveControl: "Geneve control message (O bit set)"
            }
        }
    }

    /// What is wrong with a Geneve option.
    public enum OptionProblem: Sendable, Hashable, CustomStringConvertible {
        /// The option's length runs past the end of the options (offsets from the Geneve header).
        case overrunsOptions(optionEnd: Int, optionsEnd: Int)
        /// BMA's option must carry exactly `expected` bytes of data.
        case wrongLength(expected: Int, actual: Int)
        /// BMA's option appears more than once.
        case duplicate

        public var description: String {
            switch self {
            case .overrunsOptions(let optionEnd, let optionsEnd):
                "ends at byte \(optionEnd), past the end of the options at byte \(optionsEnd)"
            case .wrongLength(let expected, let actual): "carries \(actual) bytes of data, expected \(expected)"
            case .duplicate: "appears more than once"
            }
        }
    }

    /// The error's case without its values: the key under which receivers count drops.
    public enum Kind: String, Sendable, Hashable, CaseIterable, Codable {
        case truncated, badVersion, badLength, badFlags, unknownProtocol, notMirrorTraffic, fragmented, badOption
        case unknownSensor
        /// A sensor with keys sent a copy without the authentication option (or not Geneve).
        case authMissing
        /// The copy names a key id the sensor has no key for.
        case authUnknownKey
        /// The MAC does not match: the copy was changed, or forged.
        case authBadMAC
        /// A sequence number already seen, or too old for the replay window.
        case authReplayed
    }

    /// Why an authenticated sensor's copy was refused.
    public enum AuthenticationProblem: Sendable, Hashable, CustomStringConvertible {
        case missing
        case unknownKey(UInt8)
        case badMAC(keyID: UInt8)
        case replayed(stream: UInt8, sequence: UInt64)

        public var description: String {
            switch self {
            case .missing: "carries no authentication option"
            case .unknownKey(let id): "names key \(id), which it has no key for"
            case .badMAC(let id): "has a MAC that key \(id) did not make"
            case .replayed(let stream, let sequence): "repeats or is too old: stream \(stream) sequence \(sequence)"
            }
        }
    }

    /// `layer` needs `needed` bytes (counted from its own start) and only `available` are there.
    case truncated(layer: Layer, needed: Int, available: Int)
    /// A version field holds `value`, which this decoder does not read.
    case badVersion(layer: Layer, value: UInt8)
    /// A length field declares `declared` bytes; only the values in `allowed` are consistent with
    /// the rest of the packet.
    case badLength(layer: Layer, declared: Int, allowed: ClosedRange<Int>)
    /// Flag bits that must be set are clear, or bits this decoder cannot honour are set.
    case badFlags(layer: Layer, value: UInt16)
    /// The tunnel carries a payload other than the one bmad sends (an EtherType).
    case unknownProtocol(layer: Layer, value: UInt16)
    /// The packet is not mirror traffic: other traffic seen on the collector's NIC.
    case notMirrorTraffic(NotMirrorReason)
    /// The outer IP packet is a fragment; fragments are not reassembled.
    case fragmented(layer: Layer)
    /// A Geneve option is malformed.
    case badOption(optionClass: UInt16, type: UInt8, problem: OptionProblem)
    /// The sender is not a configured sensor (`SensorRegistry`): dropped before decoding.
    case unknownSensor(address: String)
    /// The sensor has keys and the copy does not prove it came from it (`MirrorAuthenticator`).
    case unauthenticated(sensor: String, problem: AuthenticationProblem)

    public var kind: Kind {
        switch self {
        case .truncated: .truncated
        case .badVersion: .badVersion
        case .badLength: .badLength
        case .badFlags: .badFlags
        case .unknownProtocol: .unknownProtocol
        case .notMirrorTraffic: .notMirrorTraffic
        case .fragmented: .fragmented
        case .badOption: .badOption
        case .unknownSensor: .unknownSensor
        case .unauthenticated(_, let problem):
            switch problem {
            case .missing: .authMissing
            case .unknownKey: .authUnknownKey
            case .badMAC: .authBadMAC
            case .replayed: .authReplayed
            }
        }
    }

    /// The layer the error was found in (nil for traffic that is not mirror traffic).
    public var layer: Layer? {
        switch self {
        case .truncated(let layer, _, _), .badVersion(let layer, _), .badLength(let layer, _, _),
             .badFlags(let layer, _), .unknownProtocol(let layer, _), .fragmented(let layer):
            layer
        case .badOption: .geneveOption
        case .notMirrorTraffic, .unknownSensor, .unauthenticated: nil
        }
    }

    public var description: String {
        switch self {
        case .truncated(let layer, let needed, let available):
            "\(layer.rawValue): truncated, needs \(needed) bytes, \(available) available"
        case .badVersion(let layer, let value):
            "\(layer.rawValue): unsupported version \(value)"
        case .badLength(let layer, let declared, let allowed):
            "\(layer.rawValue): length \(declared) is inconsistent (expected \(allowed.lowerBound)...\(allowed.upperBound))"
        case .badFlags(let layer, let value):
            "\(layer.rawValue): unsupported flags 0x\(hex(value, width: 4))"
        case .unknownProtocol(let layer, let value):
            "\(layer.rawValue): unknown protocol 0x\(hex(value, width: 4))"
        case .notMirrorTraffic(let reason):
            "not mirror traffic: \(reason)"
        case .fragmented(let layer):
            "\(layer.rawValue): fragment (not reassembled)"
        case .badOption(let optionClass, let type, let problem):
            "Geneve option class 0x\(hex(optionClass, width: 4)) type 0x\(hex(type, width: 2)) \(problem)"
        case .unknownSensor(let address):
            "\(address) is not a configured sensor"
        case .unauthenticated(let sensor, let problem):
            "a copy from sensor \(sensor) \(problem)"
        }
    }
}

private func hex(_ value: some BinaryInteger, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
