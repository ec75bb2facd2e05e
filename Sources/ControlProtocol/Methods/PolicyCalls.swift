// The policy's own type (`Policy`, its validation and matcher) is bmad's model in Control; the
// requests carry a policy as the JSON object docs/control-protocol.md describes, and bmad reads
// it with that model.

/// `policy.list`: every policy, highest priority first, and the set's generation.
public struct PolicyListRequest: BmadParameterless {
    public typealias Response = PolicyList
    public static let method = BmadMethod.policyList
    public init() {}

    public struct PolicyList: Codable, Sendable, Equatable {
        public var generation: UInt64
        public var policies: [JSONValue]
        public init(generation: UInt64, policies: [JSONValue]) {
            self.generation = generation
            self.policies = policies
        }
    }
}

/// `policy.show`: one policy.
public struct PolicyShowRequest: BmadRequest {
    public typealias Response = JSONValue
    public static let method = BmadMethod.policyShow
    public var id: UInt16
    public init(id: UInt16) { self.id = id }
    public init(params: Params) throws(ControlError) { id = try PolicyID.read(params) }
    public var params: [String: JSONValue] { ["id": .number(Double(id))] }
    public static var example: Self { Self(id: 10) }
}

/// `policy.remove`: removes one policy; answers its id.
public struct PolicyRemoveRequest: BmadRequest {
    public typealias Response = Removed
    public static let method = BmadMethod.policyRemove
    public var id: UInt16
    public init(id: UInt16) { self.id = id }
    public init(params: Params) throws(ControlError) { id = try PolicyID.read(params) }
    public var params: [String: JSONValue] { ["id": .number(Double(id))] }
    public static var example: Self { Self(id: 10) }

    public struct Removed: Codable, Sendable, Equatable {
        public var id: UInt16
        public init(id: UInt16) { self.id = id }
    }
}

enum PolicyID {
    /// Policy ids are 1-65535 (the id travels in the mirror metadata).
    static func read(_ params: Params) throws(ControlError) -> UInt16 {
        UInt16(try params.int("id", in: 1...65535))
    }
}

/// `policy.add`: the policy (without `id`, bmad picks the next free one); answers the stored policy.
public struct PolicyAddRequest: BmadPolicyChange {
    public typealias Response = JSONValue
    public static let method = BmadMethod.policyAdd
    public var policy: [String: JSONValue]
    public var allowFutureVM: Bool
    public init(policy: [String: JSONValue], allowFutureVM: Bool = false) {
        self.policy = policy
        self.allowFutureVM = allowFutureVM
    }
}

/// `policy.update`: a new version of the policy with that `id`; answers the stored policy.
public struct PolicyUpdateRequest: BmadPolicyChange {
    public typealias Response = JSONValue
    public static let method = BmadMethod.policyUpdate
    public var policy: [String: JSONValue]
    public var allowFutureVM: Bool
    public init(policy: [String: JSONValue], allowFutureVM: Bool = false) {
        self.policy = policy
        self.allowFutureVM = allowFutureVM
    }
}

/// `policy.add` and `policy.update`: the policy's members are the params themselves, beside
/// `allow_future_vm: true` (accept VMs bmad does not run yet), sent only when true.
public protocol BmadPolicyChange: BmadRequest {
    var policy: [String: JSONValue] { get }
    var allowFutureVM: Bool { get }
    init(policy: [String: JSONValue], allowFutureVM: Bool)
}

extension BmadPolicyChange {
    public init(params: Params) throws(ControlError) {
        var policy = params.values
        let allow = try params.optionalBool("allow_future_vm") ?? false
        policy.removeValue(forKey: "allow_future_vm")
        self.init(policy: policy, allowFutureVM: allow)
    }

    public var params: [String: JSONValue] {
        var out = policy
        if allowFutureVM { out["allow_future_vm"] = true }
        return out
    }

    /// The policy's own members are documented under "Policies"; `id` stands for them.
    public static var example: Self { Self(policy: ["id": 10], allowFutureVM: true) }
}

/// `policy.replace`: every policy at once, all or nothing.
public struct PolicyReplaceRequest: BmadRequest {
    public typealias Response = Replaced
    public static let method = BmadMethod.policyReplace
    public var policies: [JSONValue]
    public var allowFutureVM: Bool

    public init(policies: [JSONValue], allowFutureVM: Bool = false) {
        self.policies = policies
        self.allowFutureVM = allowFutureVM
    }

    public init(params: Params) throws(ControlError) {
        self.init(policies: try params.array("policies"), allowFutureVM: try params.optionalBool("allow_future_vm") ?? false)
    }

    public var params: [String: JSONValue] {
        var out: [String: JSONValue] = ["policies": .array(policies)]
        if allowFutureVM { out["allow_future_vm"] = true }
        return out
    }

    public static var example: Self { Self(policies: [], allowFutureVM: true) }

    public struct Replaced: Codable, Sendable, Equatable {
        public var generation: UInt64
        public var count: Int
        public init(generation: UInt64, count: Int) {
            self.generation = generation
            self.count = count
        }
    }
}
