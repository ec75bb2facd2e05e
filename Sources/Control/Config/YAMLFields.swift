import Yams

/// Reads typed fields from a YAML mapping, remembering which keys were used so that unknown keys
/// (usually typos) are reported instead of silently ignored.
struct YAMLFields {
    let map: Node.Mapping
    let path: String
    private var used: Set<String> = []

    init(_ map: Node.Mapping, path: String) {
        self.map = map
        self.path = path
    }

    private func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private mutating func node(_ key: String) -> Node? {
        used.insert(key)
        guard let n = map[Node(key)] else { return nil }
        if case .scalar(let s) = n, s.tag == Tag(.null) || (s.string == "" && s.style == .plain) || s.string == "~" || s.string == "null" {
            return nil
        }
        return n
    }

    mutating func string(_ key: String) throws(ConfigError) -> String? {
        guard let n = node(key) else { return nil }
        guard case .scalar(let s) = n else { throw ConfigError(field: field(key), "must be a string") }
        return s.string
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let n = node(key) else { return nil }
        return try YAMLFields.integer(n, field(key), in: range)
    }

    static func integer(_ n: Node, _ field: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .scalar(let s) = n, let v = Int(s.string) else {
            throw ConfigError(field: field, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        guard range.contains(v) else {
            throw ConfigError(field: field, "\(v) is out of range (\(range.lowerBound)-\(range.upperBound))")
        }
        return v
    }

    /// A device: a devargs string, or a mapping with a `devargs` key.
    mutating func devargs(_ key: String, required: Bool) throws(ConfigError) -> String? {
        guard let n = node(key) else {
            if required { throw ConfigError(field: field(key), "is required (DPDK devargs, e.g. net_tap0,iface=bma-up)") }
            return nil
        }
        var text: String?
        if case .scalar(let s) = n {
            text = s.string
        } else if let m = n.mapping {
            var f = YAMLFields(m, path: field(key))
            text = try f.string("devargs")
            if text == nil { throw ConfigError(field: field(key) + ".devargs", "is required") }
            try f.rejectUnknown()
        }
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigError(field: field(key), "must be DPDK devargs such as net_vhost0,iface=/run/bma/vm1.sock")
        }
        guard !text.contains(where: { $0 == " " || $0 == "\n" }) else {
            throw ConfigError(field: field(key), "'\(text)' contains white space")
        }
        return text
    }

    mutating func number(_ key: String, in range: ClosedRange<Double>) throws(ConfigError) -> Double? {
        guard let n = node(key) else { return nil }
        guard case .scalar(let s) = n, let v = Double(s.string), v.isFinite else {
            throw ConfigError(field: field(key), "must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        guard range.contains(v) else {
            throw ConfigError(field: field(key), "\(v) is out of range (\(range.lowerBound)-\(range.upperBound))")
        }
        return v
    }

    /// A rate: a number, or one with a decimal prefix as rates are written (k, M, G, T for
    /// thousands to trillions): 10k packets/s, 125M bytes/s (1 Gbit/s).
    mutating func rate(_ key: String, in range: ClosedRange<Double>) throws(ConfigError) -> Double? {
        guard let n = node(key) else { return nil }
        guard case .scalar(let s) = n, let v = YAMLFields.rate(s.string), v.isFinite else {
            throw ConfigError(field: field(key), "must be a number from \(range.lowerBound) to \(range.upperBound), or one with k, M, G or T (10k, 125M)")
        }
        guard range.contains(v) else {
            throw ConfigError(field: field(key), "\(v) is out of range (\(range.lowerBound)-\(range.upperBound))")
        }
        return v
    }

    static func rate(_ text: String) -> Double? {
        let scales: [Character: Double] = ["k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12]
        if let last = text.last, let scale = scales[last], let v = Double(text.dropLast()) { return v * scale }
        return Double(text)
    }

    /// A nested mapping; with `allowScalar`, a scalar value returns nil (the caller reads it).
    mutating func mapping(_ key: String, allowScalar: Bool = false) throws(ConfigError) -> YAMLFields? {
        guard let n = node(key) else { return nil }
        if allowScalar, case .scalar = n {
            used.remove(key)
            return nil
        }
        guard let m = n.mapping else { throw ConfigError(field: field(key), "must be a mapping") }
        return YAMLFields(m, path: field(key))
    }

    mutating func list<T>(_ key: String, _ element: (Node, String) throws(ConfigError) -> T) throws(ConfigError) -> [T] {
        guard let n = node(key) else { return [] }
        guard let seq = n.sequence else { throw ConfigError(field: field(key), "must be a list") }
        var out: [T] = []
        for (i, e) in seq.enumerated() { out.append(try element(e, "\(field(key))[\(i)]")) }
        return out
    }

    func rejectUnknown() throws(ConfigError) {
        for (k, _) in map {
            guard let name = k.string else { throw ConfigError(field: path, "keys must be strings") }
            if !used.contains(name) { throw ConfigError(field: field(name), "unknown field") }
        }
    }
}

extension Node {
    func integer(_ field: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        try YAMLFields.integer(self, field, in: range)
    }
}
