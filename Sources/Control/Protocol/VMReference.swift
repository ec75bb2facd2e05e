/// A VM named in a request: `"vm": "web1"` (name) or `"vm": 101` (id).
public enum VMReference: Sendable, Hashable, CustomStringConvertible {
    case name(String)
    case id(UInt32)

    /// VM ids are 1-16777215 (the id is the VNI on the mirror).
    public static let idRange: ClosedRange<Int> = 1...16_777_215

    public var description: String {
        switch self {
        case .name(let n): n
        case .id(let i): String(i)
        }
    }

    public var json: JSONValue {
        switch self {
        case .name(let n): .string(n)
        case .id(let i): .number(Double(i))
        }
    }
}
