import BMAContract

/// `sensitivity.set`: sets (or with `reset: true` forgets) a run-time sensitivity, global or for
/// one VM; bmad saves it and answers the value now in force.
public struct SensitivitySetRequest: BmadRequest {
    public typealias Response = InForce
    public static let method = BmadMethod.sensitivitySet
    /// The new value; nil with `reset` (the configuration's value applies again).
    public var value: Double?
    public var reset: Bool
    /// nil: the global sensitivity.
    public var vm: VMReference?

    /// The values a sensitivity may take, at run time, in policies and in the configuration.
    public static let range: ClosedRange<Double> = 0...100

    public static func set(_ value: Double, vm: VMReference? = nil) -> Self { Self(value: value, reset: false, vm: vm) }
    public static func reset(vm: VMReference? = nil) -> Self { Self(value: nil, reset: true, vm: vm) }

    init(value: Double?, reset: Bool, vm: VMReference?) {
        self.value = value
        self.reset = reset
        self.vm = vm
    }

    public init(params: Params) throws(ControlError) {
        reset = try params.optionalBool("reset") ?? false
        value = reset ? nil : try params.double("value", in: Self.range)
        vm = try params.optionalVM()
    }

    public var params: [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        if let value { out["value"] = .number(value) }
        if reset { out["reset"] = true }
        if let vm { out["vm"] = vm.json }
        return out
    }

    public static var example: Self { .set(2, vm: .name("web1")) }

    /// A request sends `value` or `reset`, never both: the members of the two together.
    public static var parameterNames: Set<String> {
        Set(example.params.keys).union(reset(vm: .name("web1")).params.keys)
    }

    /// The sensitivity now in force: for `vm`, nil (null) when the VM follows the global one.
    public struct InForce: Codable, Sendable, Equatable {
        public var vm: String?
        public var value: Double?

        public init(vm: String?, value: Double?) {
            self.vm = vm
            self.value = value
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            // `vm` only for a VM's sensitivity; `value` always (null: the VM follows the global one).
            try c.encodeIfPresent(vm, forKey: .vm)
            try c.encodeOrNull(value, forKey: .value)
        }
    }
}
