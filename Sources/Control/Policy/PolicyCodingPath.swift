import ControlProtocol
import Foundation

extension JSONValue {
    /// What the value is, for policy messages: "a string", "a list", ...
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

    /// Parses JSON text; an error is a policy error naming no field.
    init(policyText data: Data) throws(PolicyError) {
        do { self = try JSONValue.parse(data) } catch {
            throw PolicyError(field: "", "not valid JSON: \(error)")
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
