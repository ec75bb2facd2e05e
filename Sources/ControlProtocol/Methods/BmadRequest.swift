import BMAContract

/// The request of one of bmad's methods, typed: bmad reads it, bmactl, the analyzer and the
/// tests send it, and its `Response` is what bmad answers.
///
/// The wire stays the protocol's `params` object: `init(params:)` reads it with the protocol's
/// `invalid-params` messages (bmad's only way in) and `params` writes it (the clients' way out).
/// Codable goes through the same two, so a request encodes and decodes the same way everywhere.
public protocol BmadRequest: Codable, Sendable, Equatable {
    associatedtype Response: Codable, Sendable
    static var method: BmadMethod { get }
    /// Reads a request's `params`; a missing, mistyped or out-of-range member is `invalid-params`.
    init(params: Params) throws(ControlError)
    /// The request's `params` object.
    var params: [String: JSONValue] { get }
    /// A request with every member present, to check docs/control-protocol.md against the type.
    static var example: Self { get }
    /// The top-level `params` members the method reads: by default the example's.
    static var parameterNames: Set<String> { get }
}

extension BmadRequest {
    public init(from decoder: any Decoder) throws {
        try self.init(params: Params(try [String: JSONValue](from: decoder)))
    }

    public func encode(to encoder: any Encoder) throws {
        try params.encode(to: encoder)
    }

    /// The top-level `params` members the method reads.
    public static var parameterNames: Set<String> { Set(example.params.keys) }
}

/// A method without parameters (`{}`; other members are ignored, as they always were).
public protocol BmadParameterless: BmadRequest {
    init()
}

extension BmadParameterless {
    public init(params: Params) throws(ControlError) { self.init() }
    public var params: [String: JSONValue] { [:] }
    public static var example: Self { Self() }
}

/// A method that reads one VM: `{"vm": "web1"}` or `{"vm": 101}`.
public protocol BmadVMRequest: BmadRequest {
    var vm: VMReference { get }
    init(vm: VMReference)
}

extension BmadVMRequest {
    public init(params: Params) throws(ControlError) { self.init(vm: try params.vm()) }
    public var params: [String: JSONValue] { ["vm": vm.json] }
    public static var example: Self { Self(vm: .name("web1")) }
}
