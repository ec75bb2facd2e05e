/// A VM named by its configured name (`"web1"`) or id (`101`), as everywhere in the control
/// protocol. In JSON a string is a name and a number an id.
public enum VMRef: Sendable, Hashable, CustomStringConvertible {
    case name(String)
    case id(UInt32)

    public var description: String {
        switch self {
        case .name(let n): n
        case .id(let i): String(i)
        }
    }

    /// Does this reference name that VM?
    @inlinable
    public func refers(toID id: UInt32, name: String) -> Bool {
        switch self {
        case .name(let n): n == name
        case .id(let i): i == id
        }
    }

    /// The same rules as `vms[].name` and `vms[].id` in the configuration.
    func validate(_ field: String) throws(PolicyError) {
        switch self {
        case .name(let n):
            guard PolicyLimits.vmNameLength.contains(n.count), n.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw PolicyError(field: field, "'\(n)' is not a VM name (up to 32 letters, digits, '-', '_' or '.')")
            }
        case .id(let i):
            try PolicyError.check(field, Int(i), PolicyLimits.vmID)
        }
    }
}

extension VMRef: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(UInt32.self) {
            self = .id(i)
        } else {
            self = .name(try c.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .name(let n): try c.encode(n)
        case .id(let i): try c.encode(i)
        }
    }
}
