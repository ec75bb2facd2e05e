import Analysis
import ControlProtocol

/// `status` on the analysis node's control socket: ingest, drops, storage and alerts per module.
struct AnalyzerStatusRequest: ControlCall {
    typealias Response = AnalyzerStatus
    static let methodName = "status"
    init() {}
    init(params: Params) throws(ControlError) {}
    var params: [String: JSONValue] { [:] }
}

/// `alerts` on the analysis node's control socket: the stored alerts, of one VM with `vm`.
struct AnalyzerAlertsRequest: ControlCall {
    typealias Response = [Alert]
    static let methodName = "alerts"
    var vm: String?
    init(vm: String? = nil) { self.vm = vm }
    init(params: Params) throws(ControlError) { vm = try params.optionalString("vm") }
    var params: [String: JSONValue] { vm.map { ["vm": .string($0)] } ?? [:] }
}
