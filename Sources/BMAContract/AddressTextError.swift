/// Address text that could not be read, saying why (`'10.0.0.0/33' is not a CIDR: ...`).
public struct AddressTextError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
