import BMAContract

extension VMReference {
    public var json: JSONValue {
        switch self {
        case .name(let n): .string(n)
        case .id(let i): .number(Double(i))
        }
    }
}
