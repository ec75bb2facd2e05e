import Control

/// Any JSON as indented `key: value` lines: the fallback for result shapes bmactl has no table
/// for, and the layout of `config show` and `policy show`. Scalars come before nested values,
/// each group sorted by key.
enum KeyValueText {
    static func lines(_ value: JSONValue, indent: Int = 0) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch value {
        case .object(let members):
            if members.isEmpty { return [pad + "(empty)"] }
            var out: [String] = []
            let keys = members.keys.sorted { a, b in
                let na = isNested(members[a]!), nb = isNested(members[b]!)
                return na == nb ? a < b : !na
            }
            for key in keys { out += member(Text.clean(key), members[key]!, indent: indent) }
            return out
        case .array(let items):
            if items.isEmpty { return [pad + "(none)"] }
            return items.flatMap { element($0, indent: indent) }
        default:
            return [pad + scalar(value)]
        }
    }

    /// `key: value`, or `key:` followed by the nested value indented.
    static func member(_ key: String, _ value: JSONValue, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        switch value {
        case .object(let o) where !o.isEmpty:
            return [pad + key + ":"] + lines(value, indent: indent + 2)
        case .array(let items) where !items.isEmpty:
            if items.allSatisfy({ !isNested($0) }) {
                return [pad + key + ": " + items.map(scalar).joined(separator: ", ")]
            }
            return [pad + key + ":"] + items.flatMap { element($0, indent: indent + 2) }
        case .object: return [pad + key + ": {}"]
        case .array: return [pad + key + ": []"]
        default: return [pad + key + ": " + scalar(value)]
        }
    }

    /// An array element: `- value`, an object's lines continued under the dash.
    private static func element(_ value: JSONValue, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        let inner = lines(value, indent: indent + 2)
        guard let first = inner.first else { return [pad + "-"] }
        return [pad + "- " + first.dropFirst(indent + 2)] + inner.dropFirst()
    }

    static func isNested(_ v: JSONValue) -> Bool {
        switch v {
        case .object(let o): !o.isEmpty
        case .array(let a): a.contains(where: isNested) || a.count > 8
        default: false
        }
    }

    /// A scalar as text: strings bare, null as `-`.
    static func scalar(_ v: JSONValue) -> String {
        switch v {
        case .null: "-"
        case .string(let s): Text.clean(s)
        case .bool(let b): b ? "true" : "false"
        case .number(let d): Units.plain(d)
        case .array, .object: v.encodedString()
        }
    }
}

enum Text {
    /// Control characters from the daemon's strings are shown escaped, never sent to the
    /// terminal.
    static func clean(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: isControl) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            if isControl(u) {
                out += "\\u{" + String(u.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    private static func isControl(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || (0x7F...0x9F).contains(u.value)
    }
}
