import ControlProtocol
import Foundation

/// `Codable` in the contract's snake_case fields. Decoding goes through the same validator as
/// `Policy(json:)` and throws `PolicyError` (its field prefixed with the decoder's coding path);
/// set `userInfo[.policyIDOptional] = true` to accept a policy without an id. Encoding leaves out
/// absent optional fields and always writes `priority`, `match.direction` and `action.mirror`.
extension Policy: Codable {
    public init(from decoder: any Decoder) throws {
        let tree = try decoder.singleValueContainer().decode(JSONValue.self)
        let optional = decoder.userInfo[.policyIDOptional] as? Bool ?? false
        try self.init(tree: tree, path: policyPath(decoder.codingPath), idRequired: !optional)
    }

    enum Keys: String, CodingKey {
        case id, name, priority, match, action
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        if id != Policy.unassignedID { try c.encode(id, forKey: .id) }
        try c.encodeIfPresent(name, forKey: .name)
        try c.encode(priority, forKey: .priority)
        try c.encode(match, forKey: .match)
        try c.encode(action, forKey: .action)
    }

    /// The policy as a JSON value (for embedding in a response).
    public var json: JSONValue { (try? JSONValue.parse(jsonData())) ?? [:] }

    /// The policy as compact JSON text with sorted keys.
    public func jsonData() -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every member encodes to plain JSON; encoding cannot fail.
        return (try? e.encode(self)) ?? Data("{}".utf8)
    }
}

extension PolicyMatch: Encodable {
    enum Keys: String, CodingKey {
        case vms, srcCIDR = "src_cidr", dstCIDR = "dst_cidr", vlan, `protocol`, srcPorts = "src_ports"
        case dstPorts = "dst_ports", sizeMin = "size_min", sizeMax = "size_max", direction
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(vms, forKey: .vms)
        try c.encodeIfPresent(srcCIDR, forKey: .srcCIDR)
        try c.encodeIfPresent(dstCIDR, forKey: .dstCIDR)
        try c.encodeIfPresent(vlan, forKey: .vlan)
        try c.encodeIfPresent(self.protocol, forKey: .protocol)
        try c.encodeIfPresent(srcPorts, forKey: .srcPorts)
        try c.encodeIfPresent(dstPorts, forKey: .dstPorts)
        try c.encodeIfPresent(sizeMin, forKey: .sizeMin)
        try c.encodeIfPresent(sizeMax, forKey: .sizeMax)
        try c.encode(direction, forKey: .direction)
    }
}

extension PolicyAction: Encodable {
    enum Keys: String, CodingKey {
        case mirror, sensitivity, snaplen, rateLimit = "rate_limit", stickySeconds = "sticky_seconds"
        case preTriggerPackets = "pre_trigger_packets", encapsulation
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(mirror, forKey: .mirror)
        try c.encodeIfPresent(sensitivity, forKey: .sensitivity)
        try c.encodeIfPresent(snaplen, forKey: .snaplen)
        try c.encodeIfPresent(rateLimit, forKey: .rateLimit)
        try c.encodeIfPresent(stickySeconds, forKey: .stickySeconds)
        try c.encodeIfPresent(preTriggerPackets, forKey: .preTriggerPackets)
        try c.encodeIfPresent(encapsulation, forKey: .encapsulation)
    }
}

extension PolicyAction.RateLimit: Encodable {
    enum Keys: String, CodingKey {
        case packetsPerSecond = "packets_per_second", bytesPerSecond = "bytes_per_second"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(packetsPerSecond, forKey: .packetsPerSecond)
        try c.encodeIfPresent(bytesPerSecond, forKey: .bytesPerSecond)
    }
}
