/// Every method bmad answers on its control socket, with the request members each one reads.
/// bmad dispatches on it (a new method must be handled), bmactl names its calls with it, and a
/// test checks docs/control-protocol.md against it.
public enum BmadMethod: String, CaseIterable, Sendable {
    case status
    case stats
    case vmList = "vm.list"
    case vmShow = "vm.show"
    case baselineShow = "baseline.show"
    case baselineFreeze = "baseline.freeze"
    case baselineUnfreeze = "baseline.unfreeze"
    case baselineReset = "baseline.reset"
    case baselineExport = "baseline.export"
    case baselineImport = "baseline.import"
    case policyList = "policy.list"
    case policyShow = "policy.show"
    case policyAdd = "policy.add"
    case policyUpdate = "policy.update"
    case policyRemove = "policy.remove"
    case policyReplace = "policy.replace"
    case sensitivitySet = "sensitivity.set"
    case mirrorForce = "mirror.force"
    case configShow = "config.show"
    case actionList = "action.list"
    case actionAdd = "action.add"
    case actionRemove = "action.remove"

    /// The top-level `params` members the method reads (a policy's own fields aside).
    public var parameters: Set<String> {
        switch self {
        case .status, .stats, .vmList, .policyList, .configShow, .actionList: []
        case .vmShow, .baselineShow, .baselineFreeze, .baselineUnfreeze, .baselineReset, .baselineExport: ["vm"]
        case .baselineImport: ["vm", "baseline"]
        case .policyShow, .policyRemove: ["id"]
        case .policyAdd, .policyUpdate: ["id", "allow_future_vm"]
        case .policyReplace: ["policies", "allow_future_vm"]
        case .sensitivitySet: ["value", "reset", "vm"]
        case .mirrorForce: ["vm", "seconds", "flow"]
        case .actionAdd: ["kind", "vm", "flow", "destination", "packets_per_second", "bytes_per_second", "priority", "reason", "seconds"]
        case .actionRemove: ["id"]
        }
    }

    public var name: String { rawValue }
}

extension ControlClient {
    /// Calls one of bmad's methods.
    public func call(_ method: BmadMethod, params: [String: JSONValue] = [:]) throws -> JSONValue {
        try call(method.rawValue, params: params)
    }
}
