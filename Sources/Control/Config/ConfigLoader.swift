import BMAContract
import Foundation
import Yams

/// Reads and validates a `bmad` YAML configuration. Every error names the field.
public enum ConfigLoader {
    /// `requirePorts: false` reads only the settings (for `bmad replay`, which makes its own ports).
    public static func load(path: String, requirePorts: Bool = true) throws(ConfigError) -> BmadConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw ConfigError(field: "", "cannot read the configuration file: "
                              + (!exists ? "no such file" : isDirectory.boolValue ? "a directory" : "permission denied"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(field: "", "the configuration file is not UTF-8 text")
        }
        return try parse(text, requirePorts: requirePorts)
    }

    public static func parse(_ text: String, requirePorts: Bool = true) throws(ConfigError) -> BmadConfig {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError(field: "", "not valid YAML: \(error)")
        }
        guard let node, let root = node.mapping else {
            throw ConfigError(field: "", "the configuration must be a YAML mapping (uplink:, vms:, ...)")
        }
        var r = YAMLFields(root, path: "")
        var c = BmadConfig()
        c.uplink = try r.devargs("uplink", required: requirePorts) ?? ""
        c.mirror = try mirror(&r)
        if var d = try r.mapping("detection") { c.detection = try detection(&d) }
        if var cp = try r.mapping("control") {
            if let socket = try cp.string("socket") {
                guard socket.hasPrefix("/"), socket.utf8.count < 108 else {
                    throw ConfigError(field: "control.socket", "'\(socket)': an absolute path shorter than 108 bytes")
                }
                c.control.socket = socket
            }
            c.control.group = try cp.string("group")
            if let dir = try cp.string("state_dir") {
                guard dir.hasPrefix("/") else { throw ConfigError(field: "control.state_dir", "'\(dir)': an absolute path") }
                c.control.stateDirectory = dir
            }
            c.control.saveSeconds = try cp.number("save_seconds", in: 0...86_400) ?? c.control.saveSeconds
            try cp.rejectUnknown()
        }
        if var m = try r.mapping("metrics") {
            c.metricsListen = try m.string("listen").map { l throws(ConfigError) in try MetricsListen.parse(l) }
            try m.rejectUnknown()
        }
        c.workers = try r.list("workers") { f, path throws(ConfigError) in try f.integer(path, in: 0...1023) }.map(UInt32.init)
        if var m = try r.mapping("mempool") {
            c.mempool.mbufs = try m.integer("mbufs", in: 1023...16_777_215).map(UInt32.init)
            c.mempool.cache = try m.integer("cache", in: 0...512).map(UInt32.init)
            c.mempool.dataRoom = try m.integer("data_room", in: 256...65535).map(UInt16.init)
            try m.rejectUnknown()
        }
        if var q = try r.mapping("queues") {
            c.queues.rxDescriptors = try q.integer("rx_descriptors", in: 64...16384).map(UInt16.init)
            c.queues.txDescriptors = try q.integer("tx_descriptors", in: 64...16384).map(UInt16.init)
            try q.rejectUnknown()
        }
        c.vms = try r.list("vms") { f, path throws(ConfigError) in try vm(f, path: path) }
        try r.rejectUnknown()
        if requirePorts { try validate(c) }
        return c
    }

    static func detection(_ f: inout YAMLFields) throws(ConfigError) -> BmadConfig.Detection {
        var d = BmadConfig.Detection()
        d.sensitivity = try f.number("sensitivity", in: PolicyLimits.sensitivity)
        d.learningSeconds = try f.number("learning_seconds", in: 0...31_536_000)
        d.stickySeconds = try f.number("sticky_seconds", in: 0...86_400)
        d.preTriggerPackets = try f.integer("pre_trigger_packets", in: 0...64)
        d.preTriggerSeconds = try f.number("pre_trigger_seconds", in: 0...3600)
        d.promoteSeconds = try f.number("promote_seconds", in: 0...31_536_000)
        d.targetMirrorRate = try f.number("target_mirror_rate", in: 0...1)
        d.prefixV4 = try f.integer("prefix_v4", in: 1...32)
        d.prefixV6 = try f.integer("prefix_v6", in: 1...64)
        try f.rejectUnknown()
        return d
    }

    static func mirror(_ r: inout YAMLFields) throws(ConfigError) -> BmadConfig.Mirror? {
        guard var f = try r.mapping("mirror", allowScalar: true) else {
            return try r.devargs("mirror", required: false).map(BmadConfig.Mirror.init)
        }
        guard let devargs = try f.devargs("devargs", required: true) else { return nil }
        var m = BmadConfig.Mirror(devargs: devargs)
        if let e = try f.string("encapsulation") {
            guard let kind = MirrorEncapsulation(name: e) else {
                throw ConfigError(field: "mirror.encapsulation", "'\(e)': use \(MirrorEncapsulation.choices)")
            }
            m.encapsulation = kind
        }
        m.collectors = try f.list("collectors") { n, path throws(ConfigError) in
            guard let text = n.string, let ip = IPv4Text.parse(text) else {
                throw ConfigError(field: path, "must be an IPv4 address such as 192.0.2.10")
            }
            return ip
        }
        let encapsulation = m.encapsulation ?? .standard
        if encapsulation != .none && m.collectors.isEmpty {
            throw ConfigError(field: "mirror.collectors", "at least one collector address is required for \(encapsulation)")
        }
        if let text = try f.string("next_hop_mac") {
            guard let mac = MACText.parse(text) else { throw ConfigError(field: "mirror.next_hop_mac", "'\(text)' is not a MAC address") }
            m.nextHopMAC = mac
        }
        if let text = try f.string("source_ip") {
            guard let ip = IPv4Text.parse(text) else { throw ConfigError(field: "mirror.source_ip", "'\(text)' is not an IPv4 address") }
            m.sourceIP = ip
        }
        m.snaplen = try f.integer("snaplen", in: 0...65535).map(UInt32.init)
        m.mbufs = try f.integer("mbufs", in: 1023...16_777_215).map(UInt32.init)
        if var a = try f.mapping("authentication") {
            m.authentication = try mirrorKey(&a, encapsulation: encapsulation)
            try a.rejectUnknown()
        }
        if var b = try f.mapping("budget") {
            m.vmPacketsPerSecond = try b.rate("vm_packets_per_second", in: 0...1e9)
            m.vmBytesPerSecond = try b.rate("vm_bytes_per_second", in: 0...1e12)
            m.totalPacketsPerSecond = try b.rate("total_packets_per_second", in: 0...1e9)
            m.totalBytesPerSecond = try b.rate("total_bytes_per_second", in: 0...1e12)
            try b.rejectUnknown()
        }
        try f.rejectUnknown()
        return m
    }

    /// `mirror.authentication`: `key_id` 1-255 and `key_file`, a file holding the key as 32 hex
    /// digits, readable by bmad and by no other user.
    static func mirrorKey(_ a: inout YAMLFields, encapsulation: MirrorEncapsulation) throws(ConfigError) -> MirrorKey {
        guard encapsulation == .geneve else {
            throw ConfigError(field: "mirror.authentication", "needs encapsulation: geneve (only Geneve copies carry the metadata it signs)")
        }
        guard let id = try a.integer("key_id", in: 1...255) else { throw ConfigError(field: "mirror.authentication.key_id", "is required (1-255)") }
        guard let path = try a.string("key_file") else { throw ConfigError(field: "mirror.authentication.key_file", "is required") }
        var st = stat()
        guard stat(path, &st) == 0, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(field: "mirror.authentication.key_file", "cannot read '\(path)'")
        }
        guard st.st_mode & 0o007 == 0 else {
            throw ConfigError(field: "mirror.authentication.key_file", "'\(path)' is accessible to every user (chmod 600 or 640)")
        }
        guard let key = MirrorKey(id: id, hex: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw ConfigError(field: "mirror.authentication.key_file", "'\(path)' must hold the key as 32 hex digits (16 bytes)")
        }
        return key
    }

    static func vm(_ node: Node, path: String) throws(ConfigError) -> BmadConfig.VM {
        guard let map = node.mapping else { throw ConfigError(field: path, "must be a mapping with name, id and devargs") }
        var f = YAMLFields(map, path: path)
        guard let name = try f.string("name"), !name.isEmpty else { throw ConfigError(field: path + ".name", "is required") }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), name.count <= 32 else {
            throw ConfigError(field: path + ".name", "'\(name)': use up to 32 letters, digits, '-', '_' or '.'")
        }
        guard let id = try f.integer("id", in: 1...16_777_215) else {
            throw ConfigError(field: path + ".id", "is required (1-16777215; it is the VNI on the mirror)")
        }
        guard let devargs = try f.devargs("devargs", required: true) else { throw ConfigError(field: path + ".devargs", "is required") }
        var mac: UInt64?
        if let text = try f.string("mac") {
            guard let m = MACText.parse(text) else {
                throw ConfigError(field: path + ".mac", "'\(text)' is not a MAC address (aa:bb:cc:dd:ee:ff)")
            }
            guard m & 0x0100_0000_0000 == 0 else { throw ConfigError(field: path + ".mac", "'\(text)' is a multicast address") }
            mac = m
        }
        let sensitivity = try f.number("sensitivity", in: PolicyLimits.sensitivity)
        try f.rejectUnknown()
        return .init(name: name, id: UInt32(id), devargs: devargs, mac: mac, sensitivity: sensitivity)
    }

    static func validate(_ c: BmadConfig) throws(ConfigError) {
        if c.vms.isEmpty { throw ConfigError(field: "vms", "at least one VM is required") }
        var names: [String: Int] = [:], ids: [UInt32: Int] = [:], devices: [String: String] = [:]
        func device(_ devargs: String) -> String { String(devargs.prefix { $0 != "," }) }
        devices[device(c.uplink)] = "uplink"
        if let m = c.mirror?.devargs {
            if let other = devices[device(m)] { throw ConfigError(field: "mirror", "device '\(device(m))' is already the \(other)") }
            devices[device(m)] = "mirror"
        }
        for (i, vm) in c.vms.enumerated() {
            if let j = names[vm.name] { throw ConfigError(field: "vms[\(i)].name", "'\(vm.name)' is also vms[\(j)].name") }
            if let j = ids[vm.id] { throw ConfigError(field: "vms[\(i)].id", "\(vm.id) is also vms[\(j)].id") }
            if let other = devices[device(vm.devargs)] {
                throw ConfigError(field: "vms[\(i)].devargs", "device '\(device(vm.devargs))' is already the \(other)")
            }
            names[vm.name] = i
            ids[vm.id] = i
            devices[device(vm.devargs)] = "device of vms[\(i)]"
        }
    }
}
