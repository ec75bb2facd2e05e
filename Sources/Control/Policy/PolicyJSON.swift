import Foundation

/// A parsed JSON value, as the policy decoder reads it. Built from JSONSerialization output (or
/// any `[String: Any]` of JSON types) or through `Decodable`, so both paths share one validator.
enum PolicyJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([PolicyJSON])
    case object([String: PolicyJSON])

    /// What the value is, for messages: "a string", "an object", ...
    var kindText: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }

    private static let booleanNumberType = type(of: NSNumber(value: true))

    /// Converts JSONSerialization output, or a dictionary built by hand from Swift values.
    init(any value: Any, field: String) throws(PolicyError) {
        // The order matters for speed: a failed cast of a dictionary to an array (or of a number
        // to a dictionary) goes through Foundation bridging.
        if let s = value as? String {
            self = .string(s)
        } else if let o = value as? [String: Any] {
            var out: [String: PolicyJSON] = [:]
            out.reserveCapacity(o.count)
            for (k, v) in o { out[k] = try PolicyJSON(any: v, field: policyField(field, k)) }
            self = .object(out)
        } else if let a = value as? [Any] {
            var out: [PolicyJSON] = []
            out.reserveCapacity(a.count)
            for (i, e) in a.enumerated() { out.append(try PolicyJSON(any: e, field: "\(field)[\(i)]")) }
            self = .array(out)
        } else if type(of: value) == Bool.self, let b = value as? Bool {
            self = .bool(b)
        } else if let n = value as? NSNumber {
            self = type(of: n) == PolicyJSON.booleanNumberType ? .bool(n.boolValue) : .number(n.doubleValue)
        } else if value is NSNull {
            self = .null
        } else if case Optional<Any>.none = value {
            self = .null
        } else {
            throw PolicyError(field: field, "is not a JSON value (\(type(of: value)))")
        }
    }

    /// Parses JSON text.
    init(data: Data) throws(PolicyError) {
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let why = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            throw PolicyError(field: "", "not valid JSON: \(why)")
        }
        try self.init(any: any, field: "")
    }
}

extension PolicyJSON: Decodable {
    /// Tries the likely kinds first: every failed attempt costs a thrown DecodingError.
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let o = try? c.decode([String: PolicyJSON].self) {
            self = .object(o)
        } else if let a = try? c.decode([PolicyJSON].self) {
            self = .array(a)
        } else {
            self = .bool(try c.decode(Bool.self))
        }
    }
}

extension CodingUserInfoKey {
    /// Set to `true` in a decoder's `userInfo` to decode a `Policy` without an `id` (for
    /// `policy.add`): the policy gets `Policy.unassignedID`.
    public static let policyIDOptional = CodingUserInfoKey(rawValue: "bma.policy.idOptional")!
}

/// `policies[2].match` from a coding path.
func policyPath(_ codingPath: [any CodingKey]) -> String {
    var out = ""
    for k in codingPath {
        if let i = k.intValue, k.stringValue == String(i) || k.stringValue.hasPrefix("Index") {
            out += "[\(i)]"
        } else {
            out = policyField(out, k.stringValue)
        }
    }
    return out
}
