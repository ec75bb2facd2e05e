import Analysis
import BMAContract
import ControlProtocol
import Foundation

/// Acts on alerts: plans each delivered alert under the response rules and, off the alert
/// path (one serial queue), sends the actions to bmad's control socket (`action.add`). Every
/// decision is logged and recorded in the store's responses.jsonl (the console lists them).
final class ResponseEngine: @unchecked Sendable {
    private let settings: ResponseSettings
    private let lock = NSLock()
    private var planner: ResponsePlanner
    private let queue = DispatchQueue(label: "bma-analyzer.response")
    private var client: ControlClient?
    private let records: FileHandle?

    init(settings: ResponseSettings, vmNames: [UInt32: String], storeDirectory: String) {
        self.settings = settings
        var ids: [String: UInt32] = [:]
        for (id, name) in vmNames { ids[name] = id }
        var planner = ResponsePlanner(rules: settings.rules, dryRun: settings.dryRun, protectedVMs: [], vmIDs: ids)
        planner.protectedVMs = Set(settings.protectedVMs.compactMap { planner.vmID($0) })
        self.planner = planner
        // The store directory may not exist yet (the node creates it after this).
        try? FileManager.default.createDirectory(atPath: storeDirectory, withIntermediateDirectories: true)
        let path = storeDirectory + "/" + ResponseRecord.fileName
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        records = FileHandle(forWritingAtPath: path)
        _ = try? records?.seekToEnd()
    }

    var summary: String {
        "response: \(settings.rules.count) rules\(settings.dryRun ? " (dry run: actions are only logged)" : "") to \(settings.socket)"
            + (settings.protectedVMs.isEmpty ? "" : "; protected VMs: \(settings.protectedVMs.joined(separator: ", "))")
    }

    /// Called for every alert the sink delivers (any thread); never waits for bmad.
    func offer(_ alert: Alert) {
        let now = SystemClock.wallNanoseconds()
        let plans = lock.withLock { planner.plan(alert, nowNs: now) }
        for plan in plans {
            queue.async { self.carry(plan, alert: alert, at: now) }
        }
    }

    /// Waits until every queued action was sent (at shutdown).
    func drain() {
        queue.sync {}
        client?.close()
        try? records?.close()
    }

    private func carry(_ plan: ResponsePlan, alert: Alert, at alertNs: UInt64) {
        var record = ResponseRecord(alert_ns: alertNs, done_ns: 0, rule: plan.rule, outcome: plan.outcome.rawValue, kind: plan.kind,
                                    target: plan.targetText, vm: plan.vmID, seconds: plan.seconds,
                                    signature: alert.alert.signature, alert_timestamp: alert.timestamp)
        let what = "\(plan.kind) \(plan.targetText) for \(plan.seconds) s"
        switch plan.outcome {
        case .dryRun: log("bma-analyzer: response \(plan.rule): would \(what) (dry run; alert \(alert.alert.signature))")
        case .protected: log("bma-analyzer: response \(plan.rule): VM \(plan.vmID ?? 0) is protected; no \(what)")
        case .limited: log("bma-analyzer: response \(plan.rule): at its limit of actions per minute; no \(what)")
        case .untargetable: log("bma-analyzer: response \(plan.rule): the alert names no \(plan.target.rawValue) to act on (\(alert.alert.signature))")
        case .act:
            do {
                let answer = try send(plan)
                record.outcome = answer["event"]?.stringValue ?? "sent"
                record.action_id = answer["id"]?.intValue
                record.expires_ns = answer["expires_ns"]?.doubleValue.map { UInt64($0) }
                let ms = Double(SystemClock.wallNanoseconds() &- alertNs) / 1e6
                log("bma-analyzer: response \(plan.rule): \(what): bmad action \(record.action_id ?? 0) \(record.outcome) "
                    + "(\(String(format: "%.1f", ms)) ms after the alert)")
            } catch {
                record.outcome = "failed"
                record.error = "\(error)"
                client?.close()
                client = nil
                log("bma-analyzer: response \(plan.rule): \(what) failed: \(error)")
            }
        }
        record.done_ns = SystemClock.wallNanoseconds()
        // A record that cannot be written (disk full) is lost; the action stands and was logged.
        if let line = record.line { try? records?.write(contentsOf: line) }
    }

    /// action.add on bmad's socket (one connection, reopened after a failure).
    private func send(_ plan: ResponsePlan) throws -> JSONValue {
        if client == nil { client = try ControlClient(path: settings.socket, timeout: 2) }
        return try client!.call(ResponseRequest.request(plan, reason: plan.reason))
    }
}

/// The `action.add` request of a plan.
enum ResponseRequest {
    static func request(_ plan: ResponsePlan, reason: String) -> ActionAddRequest {
        var params: [String: JSONValue] = ["kind": .string(plan.kind), "priority": .number(Double(plan.priority)), "reason": .string(reason)]
        if let vm = plan.vmID { params["vm"] = .number(Double(vm)) }
        switch plan.target {
        case .vm: break
        case .destination:
            var d: [String: JSONValue] = ["cidr": .string(plan.dst ?? "")]
            if let proto = plan.proto { d["proto"] = .string(proto) }
            params["destination"] = .object(d)
        case .flow:
            var f: [String: JSONValue] = ["src": .string(plan.src ?? ""), "dst": .string(plan.dst ?? ""), "proto": .string(plan.proto ?? "")]
            if let sp = plan.srcPort, let dp = plan.dstPort, plan.proto == "tcp" || plan.proto == "udp" {
                f["src_port"] = .number(Double(sp))
                f["dst_port"] = .number(Double(dp))
            }
            params["flow"] = .object(f)
        }
        if let pps = plan.packetsPerSecond { params["packets_per_second"] = .number(pps) }
        if let bps = plan.bytesPerSecond { params["bytes_per_second"] = .number(bps) }
        return ActionAddRequest(action: params, seconds: plan.seconds)
    }
}
