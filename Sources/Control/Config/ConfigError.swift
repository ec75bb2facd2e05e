/// A configuration problem, naming the field (`vms[1].mac`) and what is wrong with it.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var field: String
    public var message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}
