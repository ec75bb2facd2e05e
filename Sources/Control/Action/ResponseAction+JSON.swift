import BMAContract
import ControlProtocol
import Foundation

/// The wire and file form of an action: `{"id", "kind", "vm", "flow": {"src", "dst", "proto",
/// "src_port", "dst_port"}, "destination": {"cidr", "proto", "port"}, "packets_per_second",
/// "bytes_per_second", "priority", "reason", "created_ns", "expires_ns", "expires"}`.
extension ResponseAction {
    /// Parses the members shared by `action.add` and the state file (not the expiry, which the
    /// request gives as `seconds` and the file as `expires_ns`). Errors name the member.
    public init(params p: Params) throws(ControlError) {
        let kindText = try p.string("kind")
        guard let kind = Kind(rawValue: kindText) else {
            throw p.invalid("kind", "'\(kindText)' is not one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.kind = kind
        vm = try p.optionalVM()
        if let f = try p.optionalObject("flow") {
            try f.rejectUnknown(allowing: ["src", "dst", "proto", "src_port", "dst_port"])
            let proto = try Self.proto(f, "proto", required: true)!
            flow = Flow(src: try Self.host(f, "src"), dst: try Self.host(f, "dst"), proto: proto,
                        srcPort: try f.optionalInt("src_port", in: 0...65535).map(UInt16.init),
                        dstPort: try f.optionalInt("dst_port", in: 0...65535).map(UInt16.init))
            if (flow?.srcPort != nil || flow?.dstPort != nil) && proto != .tcp && proto != .udp {
                throw f.invalid("proto", "ports need tcp or udp")
            }
        }
        if let d = try p.optionalObject("destination") {
            try d.rejectUnknown(allowing: ["cidr", "proto", "port"])
            let text = try d.string("cidr")
            guard let cidr = CIDR(text) else { throw d.invalid("cidr", "'\(text)' is not an address or prefix (10.0.0.0/8, 2001:db8::/32)") }
            let proto = try Self.proto(d, "proto", required: false)
            let port = try d.optionalInt("port", in: 0...65535).map(UInt16.init)
            if port != nil && proto != .tcp && proto != .udp { throw d.invalid("port", "needs proto tcp or udp") }
            destination = Destination(cidr: cidr, proto: proto, port: port)
        }
        if flow != nil && destination != nil { throw p.invalid("destination", "give a flow or a destination, not both") }
        if vm == nil && flow == nil && destination == nil { throw p.invalid("vm", "an action needs a vm, a flow or a destination") }
        packetsPerSecond = try p.optionalDouble("packets_per_second", in: 1...1e9)
        bytesPerSecond = try p.optionalDouble("bytes_per_second", in: 64...1e12)
        if kind == .rateLimit && packetsPerSecond == nil && bytesPerSecond == nil {
            throw p.invalid("packets_per_second", "rate-limit needs packets_per_second or bytes_per_second")
        }
        if kind != .rateLimit && (packetsPerSecond != nil || bytesPerSecond != nil) {
            throw p.invalid(packetsPerSecond != nil ? "packets_per_second" : "bytes_per_second", "only for rate-limit")
        }
        priority = try p.optionalInt("priority", in: Self.limits.priority) ?? 0
        reason = try p.optionalString("reason") ?? ""
        if reason.utf8.count > Self.limits.reasonBytes { throw p.invalid("reason", "at most \(Self.limits.reasonBytes) bytes") }
    }

    private static func host(_ p: Params, _ key: String) throws(ControlError) -> CIDR {
        let text = try p.string(key)
        guard let a = IPAddressText.parse(text), let c = CIDR(hi: a.hi, lo: a.lo, prefixLength: 128) else {
            throw p.invalid(key, "'\(text)' is not an IP address")
        }
        return c
    }

    private static func proto(_ p: Params, _ key: String, required: Bool) throws(ControlError) -> PolicyProtocol? {
        if case .number(let n)? = p.value(key), let i = Int(exactly: n), (0...255).contains(i) { return .ip(UInt8(i)) }
        guard let text = required ? try p.string(key) : try p.optionalString(key) else { return nil }
        guard let proto = PolicyProtocol(text), case .ip = proto else {
            throw p.invalid(key, "'\(text)' is not an IP protocol (tcp, udp, icmp or a number)")
        }
        return proto
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "id": .number(Double(id)), "kind": .string(kind.rawValue), "priority": .number(Double(priority)),
            "reason": .string(reason), "created_ns": .number(Double(createdNs)), "expires_ns": .number(Double(expiresNs)),
            "expires": .string(Self.isoTime(expiresNs)),
        ]
        if let vm { o["vm"] = vm.json }
        if let f = flow {
            var fo: [String: JSONValue] = ["src": .string(Self.address(f.src)), "dst": .string(Self.address(f.dst)),
                                           "proto": .string(f.proto.description)]
            if let sp = f.srcPort { fo["src_port"] = .number(Double(sp)) }
            if let dp = f.dstPort { fo["dst_port"] = .number(Double(dp)) }
            o["flow"] = .object(fo)
        }
        if let d = destination {
            var dobj: [String: JSONValue] = ["cidr": .string(d.cidr.description)]
            if let proto = d.proto { dobj["proto"] = .string(proto.description) }
            if let port = d.port { dobj["port"] = .number(Double(port)) }
            o["destination"] = .object(dobj)
        }
        if let pps = packetsPerSecond { o["packets_per_second"] = .number(pps) }
        if let bps = bytesPerSecond { o["bytes_per_second"] = .number(bps) }
        return .object(o)
    }

    /// The target in words, for log lines: `flow tcp 10.0.1.5 -> 10.0.0.9:22 of vm1`.
    public var targetText: String {
        var parts: [String] = []
        if let f = flow {
            let sp = f.srcPort.map { ":\($0)" } ?? "", dp = f.dstPort.map { ":\($0)" } ?? ""
            parts.append("flow \(f.proto) \(Self.address(f.src))\(sp) -> \(Self.address(f.dst))\(dp)")
        }
        if let d = destination {
            parts.append("destination \(d.cidr)\(d.proto.map { " \($0)" } ?? "")\(d.port.map { " port \($0)" } ?? "")")
        }
        if let vm { parts.append(parts.isEmpty ? "vm \(vm)" : "of vm \(vm)") }
        return parts.joined(separator: " ")
    }

    static func address(_ c: CIDR) -> String { IPAddressText.format(hi: c.hi, lo: c.lo) }

    public static func isoTime(_ ns: UInt64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: Double(ns) / 1e9))
    }
}
