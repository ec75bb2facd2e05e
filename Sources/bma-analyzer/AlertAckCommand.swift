import Analysis
import ArgumentParser
import BMAContract
import Console
import ControlProtocol
import Foundation

/// `alerts ack ID --benign`: an analyst says an alert was benign; bmad stops mirroring that
/// pattern of the VM for a while (an `allow` action on the alert's flow, destination or VM).
struct AlertAckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack", abstract: "Mark an alert benign: bmad stops mirroring its pattern for that VM (an allow action with expiry).",
        discussion: """
            ID is the alert's id as `alerts` and the console show it. The allow goes to bmad's control \
            socket on this host and is recorded in the store's responses.jsonl (the console's actions page).
            """)

    @Argument(help: "The alert's id.") var id: String
    @Flag(help: "The alert was benign (the one acknowledgement there is).") var benign = false
    @Option(name: .customLong("store"), help: "Store directory (an existing store; never created).")
    var directory = "/var/lib/bma-analyzer"
    @Option(help: "bmad's control socket.") var bmadSocket = "/run/bma/bmad.sock"
    @Option(help: "How long the pattern stays unmirrored.") var seconds: Double = 86_400
    @Option(help: "What to allow: flow (the alert's 5-tuple), destination (its address and protocol) or vm.")
    var target = "flow"

    func run() throws {
        guard benign else { throw AnalyzerFailure.usage("alerts ack: give --benign (the only acknowledgement there is)") }
        guard let target = ResponseRule.Target(rawValue: target) else {
            throw AnalyzerFailure.usage("--target: '\(target)' is not flow, destination or vm")
        }
        guard seconds > 0, seconds <= 7 * 86_400 else { throw AnalyzerFailure.usage("--seconds: must be above 0 and at most 604800 (7 days)") }
        try ExistingStore.require(directory)
        var config = CaptureStoreConfiguration()
        config.minFreeBytes = 0
        let store = ConsoleStore(store: try CaptureStore(directory: directory, configuration: config), vmNames: StoreVMNames.load(directory))
        defer { store.store.close() }
        guard let stored = try store.alert(id: id) else { throw AnalyzerFailure.notFound("no alert with id \(id) in \(directory)") }
        let alert = stored.alert
        // One rule, acting once: the planner resolves the VM and the target from the alert.
        let rule = ResponseRule(name: "benign", action: "allow", target: target, seconds: seconds, maxPerMinute: 1)
        var planner = ResponsePlanner(rules: [rule], dryRun: false, protectedVMs: [],
                                      vmIDs: Dictionary(store.vmNames.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a }))
        guard let plan = planner.plan(alert, nowNs: 0).first, plan.outcome == .act else {
            throw AnalyzerFailure.usage("alert \(id) names no \(target.rawValue) to allow (try --target vm)")
        }
        let started = SystemClock.wallNanoseconds()
        let answer: JSONValue
        do {
            let client = try ControlClient(path: bmadSocket, timeout: 5)
            defer { client.close() }
            answer = try client.call(ResponseRequest.request(plan, reason: "benign (alert \(id)): \(alert.alert.signature)"))
        } catch {
            throw AnalyzerFailure("bmad at \(bmadSocket): \(error)")
        }
        let record = ResponseRecord(alert_ns: started, done_ns: SystemClock.wallNanoseconds(), rule: "analyst: benign",
                                    outcome: answer["event"]?.stringValue ?? "added", kind: "allow", target: plan.targetText,
                                    vm: plan.vmID, seconds: seconds, signature: alert.alert.signature, alert_timestamp: alert.timestamp,
                                    action_id: answer["id"]?.intValue, expires_ns: answer["expires_ns"]?.doubleValue.map { UInt64($0) })
        ResponseRecord.append(record, storeDirectory: directory)
        print("allow \(plan.targetText) until \(answer["expires"]?.stringValue ?? "?"): bmad action \(record.action_id ?? 0) \(record.outcome)")
    }
}
