/// A VM named by its configured name (`"web1"`) or id (`101`), as everywhere in the control
/// protocol and in policies. In JSON a string is a name and a number an id.
public enum VMReference: Sendable, Hashable, CustomStringConvertible {
    case name(String)
    case id(UInt32)

    /// VM ids are 1-16777215 (the id is the VNI on the mirror).
    public static let idRange: ClosedRange<Int> = Int(MirrorWire.vmIDRange.lowerBound)...Int(MirrorWire.vmIDRange.upperBound)

    /// A number is an id, anything else a name (`bmactl vm show 101`, `--vm web1`).
    public init(text: String) {
        if let id = UInt32(text) { self = .id(id) } else { self = .name(text) }
    }

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
}

extension VMReference: Codable {
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
