import BMAContract

/// The request of one of bmad's methods, typed: bmad reads it, bmactl and the tests send it,
/// and its `Response` is what bmad answers.
public protocol BmadRequest: ControlCall {
    static var method: BmadMethod { get }
    /// A request with every member present, to check docs/control-protocol.md against the type.
    static var example: Self { get }
    /// The top-level `params` members the method reads: by default the example's.
    static var parameterNames: Set<String> { get }
}

extension BmadRequest {
    public static var methodName: String { method.rawValue }

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
