/// A policy problem, naming the field (`match.dst_cidr`, `policies[2].id`) and what is wrong with
/// it. `kind` is the control-protocol error code the problem is answered with.
public struct PolicyError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// A value is missing, of the wrong type or out of range.
        case invalidParams = "invalid-params"
        /// The policy named does not exist.
        case notFound = "not-found"
        /// The policy id is already taken (or appears twice in one request).
        case conflict
    }

    public var field: String
    public var message: String
    public var kind: Kind

    public init(field: String, _ message: String, kind: Kind = .invalidParams) {
        self.field = field
        self.message = message
        self.kind = kind
    }

    public var description: String { field.isEmpty ? message : "\(field): \(message)" }

    /// The same problem seen from a containing object: `prefix` + "." + field (or "[i]").
    func under(_ prefix: String) -> PolicyError {
        guard !prefix.isEmpty else { return self }
        var e = self
        if field.isEmpty {
            e.field = prefix
        } else {
            e.field = field.hasPrefix("[") ? prefix + field : prefix + "." + field
        }
        return e
    }
}

/// Joins a field path and a key: `""` + `match` = `match`, `match` + `vlan` = `match.vlan`.
func policyField(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
