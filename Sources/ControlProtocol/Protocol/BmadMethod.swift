/// Every method bmad answers on its control socket, with the request members each one reads.
/// bmad dispatches on it (a new method must be handled), each has its request type, and a test
/// checks docs/control-protocol.md against those types.
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

    /// The request type that reads and writes the method's `params` and names its response.
    public var requestType: any BmadRequest.Type {
        switch self {
        case .status: StatusRequest.self
        case .stats: StatsRequest.self
        case .vmList: VMListRequest.self
        case .vmShow: VMShowRequest.self
        case .baselineShow: BaselineShowRequest.self
        case .baselineFreeze: BaselineFreezeRequest.self
        case .baselineUnfreeze: BaselineUnfreezeRequest.self
        case .baselineReset: BaselineResetRequest.self
        case .baselineExport: BaselineExportRequest.self
        case .baselineImport: BaselineImportRequest.self
        case .policyList: PolicyListRequest.self
        case .policyShow: PolicyShowRequest.self
        case .policyAdd: PolicyAddRequest.self
        case .policyUpdate: PolicyUpdateRequest.self
        case .policyRemove: PolicyRemoveRequest.self
        case .policyReplace: PolicyReplaceRequest.self
        case .sensitivitySet: SensitivitySetRequest.self
        case .mirrorForce: MirrorForceRequest.self
        case .configShow: ConfigShowRequest.self
        case .actionList: ActionListRequest.self
        case .actionAdd: ActionAddRequest.self
        case .actionRemove: ActionRemoveRequest.self
        }
    }

    /// The top-level `params` members the method reads (a policy's own fields aside), from its
    /// request type.
    public var parameters: Set<String> { requestType.parameterNames }

    public var name: String { rawValue }
}
