import ControlProtocol
import BMAContract
import Foundation

/// Policies from JSON (the control protocol's snake_case fields). Every error names the field
/// path (`match.dst_cidr`, `policies[2].action.mirror`); unknown fields are rejected; every
/// value is range-checked by `Policy.validate`.
extension Policy {
    /// From a JSON object (a request's params). With `idRequired: false` (`policy.add`) a
    /// missing id is `Policy.unassignedID`.
    public init(json: JSONValue, idRequired: Bool = true) throws(PolicyError) {
        try self.init(tree: json, path: "", idRequired: idRequired)
    }

    /// From JSON text.
    public init(jsonData: Data, idRequired: Bool = true) throws(PolicyError) {
        try self.init(tree: JSONValue(policyText: jsonData), path: "", idRequired: idRequired)
    }

    /// A list of policies (`policy.replace`'s `policies`), each with an id; errors are named
    /// `field[i]...`.
    public static func list(json: JSONValue, field: String = "policies") throws(PolicyError) -> [Policy] {
        try list(tree: json, path: field)
    }

    static func list(tree: JSONValue, path: String) throws(PolicyError) -> [Policy] {
        guard case .array(let items) = tree else { throw PolicyError(field: path, "must be a list of policies, not \(tree.kindText)") }
        var out: [Policy] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            out.append(try Policy(tree: item, path: "\(path)[\(i)]", idRequired: true))
        }
        return out
    }

    init(tree: JSONValue, path: String, idRequired: Bool) throws(PolicyError) {
        var f = try PolicyFields(tree, path: path, what: "a policy")
        self.init()
        if let id = try f.integer("id", in: PolicyLimits.id) { self.id = UInt16(id) }
        name = try f.string("name")
        priority = try f.integer("priority", in: PolicyLimits.priority) ?? 0
        if var m = try f.object("match", what: "the packets to match") { match = try PolicyMatch(&m) }
        if var a = try f.object("action", what: "the action") { action = try PolicyAction(&a) }
        try f.rejectUnknown()
        do { try validate(idRequired: idRequired) } catch { throw error.under(path) }
    }
}

extension PolicyMatch {
    init(_ f: inout PolicyFields) throws(PolicyError) {
        self.init()
        if let list = try f.array("vms") {
            vms = try list.enumerated().map { (i, v) throws(PolicyError) in try VMReference(v, field: f.field("vms[\(i)]")) }
        }
        srcCIDR = try f.cidr("src_cidr")
        dstCIDR = try f.cidr("dst_cidr")
        vlan = try f.integer("vlan", in: PolicyLimits.vlan).map(UInt16.init)
        if let v = f.value("protocol") { self.protocol = try PolicyProtocol(v, field: f.field("protocol")) }
        srcPorts = try f.ports("src_ports")
        dstPorts = try f.ports("dst_ports")
        sizeMin = try f.integer("size_min", in: PolicyLimits.size)
        sizeMax = try f.integer("size_max", in: PolicyLimits.size)
        if let d = try f.string("direction") {
            guard let dir = Direction(rawValue: d) else {
                throw PolicyError(field: f.field("direction"), "'\(d)': use out (from the VM), in (toward the VM) or both")
            }
            direction = dir
        }
        try f.rejectUnknown()
    }
}

extension PolicyAction {
    init(_ f: inout PolicyFields) throws(PolicyError) {
        self.init()
        if let m = try f.string("mirror") {
            guard let mode = Mirror(rawValue: m) else {
                throw PolicyError(field: f.field("mirror"), "'\(m)': use on-anomaly, always or never")
            }
            mirror = mode
        }
        sensitivity = try f.number("sensitivity", in: PolicyLimits.sensitivity)
        snaplen = try f.integer("snaplen", in: 0...PolicyLimits.snaplen.upperBound)
        if var r = try f.object("rate_limit", what: "a rate limit") {
            rateLimit = RateLimit(packetsPerSecond: try r.number("packets_per_second", in: PolicyLimits.packetsPerSecond),
                                  bytesPerSecond: try r.number("bytes_per_second", in: PolicyLimits.bytesPerSecond))
            try r.rejectUnknown()
        }
        stickySeconds = try f.number("sticky_seconds", in: PolicyLimits.stickySeconds)
        preTriggerPackets = try f.integer("pre_trigger_packets", in: PolicyLimits.preTriggerPackets)
        encapsulation = try f.string("encapsulation")
        try f.rejectUnknown()
    }
}

extension PolicyFields {
    mutating func cidr(_ key: String) throws(PolicyError) -> CIDR? {
        guard let text = try string(key) else { return nil }
        do { return try CIDR.parse(text) } catch { throw PolicyError(field: field(key), error.message) }
    }

    /// `"53,853,1000-2000"`, a single number `53`, or a list of numbers and strings
    /// (`[53, "1000-2000"]`).
    mutating func ports(_ key: String) throws(PolicyError) -> PortSet? {
        guard let v = value(key) else { return nil }
        let name = field(key)
        switch v {
        case .string(let text):
            do { return try PortSet.parse(text) } catch { throw error.under(name) }
        case .number:
            let p = try PolicyFields.integer(v, name, in: 0...65535)
            return try PortSet.merged([UInt16(p)...UInt16(p)])
        case .array(let items):
            var ranges: [ClosedRange<UInt16>] = []
            for (i, item) in items.enumerated() {
                switch item {
                case .number:
                    let p = try PolicyFields.integer(item, "\(name)[\(i)]", in: 0...65535)
                    ranges.append(UInt16(p)...UInt16(p))
                case .string(let text):
                    do { ranges.append(try PortSet.range(text.trimmingCharacters(in: .whitespaces), in: text)) } catch {
                        throw error.under("\(name)[\(i)]")
                    }
                default:
                    throw PolicyError(field: "\(name)[\(i)]", "must be a port number or a range string such as '1000-2000', not \(item.kindText)")
                }
            }
            do { return try PortSet.merged(ranges) } catch { throw error.under(name) }
        default:
            throw PolicyError(field: name, "must be a port list such as '53,853,1000-2000', not \(v.kindText)")
        }
    }
}

extension VMReference {
    init(_ v: JSONValue, field: String) throws(PolicyError) {
        switch v {
        case .string(let n): self = .name(n)
        case .number:
            self = .id(UInt32(try PolicyFields.integer(v, field, in: PolicyLimits.vmID)))
        default:
            throw PolicyError(field: field, "must be a VM name (string) or id (number), not \(v.kindText)")
        }
    }
}

extension PolicyProtocol {
    init(_ v: JSONValue, field: String) throws(PolicyError) {
        switch v {
        case .number:
            self = .ip(UInt8(try PolicyFields.integer(v, field, in: PolicyLimits.protocolNumber)))
        case .string(let s):
            guard let p = PolicyProtocol(s) else {
                throw PolicyError(field: field, "'\(s)': use tcp, udp, icmp, icmpv6, arp or a number 0-255")
            }
            self = p
        default:
            throw PolicyError(field: field, "must be a protocol name or number, not \(v.kindText)")
        }
    }
}
