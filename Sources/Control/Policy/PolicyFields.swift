import ControlProtocol
/// Reads typed fields from a JSON object, remembering which keys were read so that unknown keys
/// (usually typos) are reported instead of silently ignored. A null value counts as absent.
struct PolicyFields {
    let object: [String: JSONValue]
    let path: String
    private var used: Set<String> = []

    init(_ value: JSONValue, path: String, what: String) throws(PolicyError) {
        guard case .object(let o) = value else {
            throw PolicyError(field: path, "must be \(what) (a JSON object), not \(value.kindText)")
        }
        object = o
        self.path = path
    }

    func field(_ key: String) -> String { policyField(path, key) }

    mutating func value(_ key: String) -> JSONValue? {
        used.insert(key)
        guard let v = object[key], v != .null else { return nil }
        return v
    }

    mutating func string(_ key: String) throws(PolicyError) -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw PolicyError(field: field(key), "must be a string, not \(v.kindText)") }
        return s
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(PolicyError) -> Int? {
        guard let v = value(key) else { return nil }
        return try PolicyFields.integer(v, field(key), in: range)
    }

    static func integer(_ v: JSONValue, _ field: String, in range: ClosedRange<Int>) throws(PolicyError) -> Int {
        guard case .number(let d) = v, d == d.rounded(), abs(d) < 1e15 else {
            throw PolicyError(field: field, "must be a whole number from \(range.lowerBound) to \(range.upperBound), not \(v.text)")
        }
        let i = Int(d)
        try PolicyError.check(field, i, range)
        return i
    }

    mutating func number(_ key: String, in range: ClosedRange<Double>) throws(PolicyError) -> Double? {
        guard let v = value(key) else { return nil }
        guard case .number(let d) = v, d.isFinite else {
            let t = policyNumberText
            throw PolicyError(field: field(key), "must be a number from \(t(range.lowerBound)) to \(t(range.upperBound)), not \(v.text)")
        }
        try PolicyError.check(field(key), d, range)
        return d
    }

    mutating func object(_ key: String, what: String) throws(PolicyError) -> PolicyFields? {
        guard let v = value(key) else { return nil }
        return try PolicyFields(v, path: field(key), what: what)
    }

    mutating func array(_ key: String) throws(PolicyError) -> [JSONValue]? {
        guard let v = value(key) else { return nil }
        guard case .array(let a) = v else { throw PolicyError(field: field(key), "must be a list, not \(v.kindText)") }
        return a
    }

    /// Reports the first unknown key (in sorted order, so the message is stable).
    func rejectUnknown() throws(PolicyError) {
        let known = object.keys.filter { !used.contains($0) }.sorted()
        if let k = known.first {
            throw PolicyError(field: field(k), "unknown field (expected \(used.sorted().joined(separator: ", ")))")
        }
    }
}

extension JSONValue {
    /// A short rendering of the value for messages: `'abc'`, `12.5`, `true`, `a list`.
    var text: String {
        switch self {
        case .null: "null"
        case .bool(let b): String(b)
        case .number(let d): policyNumberText(d)
        case .string(let s): "'\(s.count > 40 ? s.prefix(40) + "..." : s)'"
        case .array, .object: kindText
        }
    }
}
