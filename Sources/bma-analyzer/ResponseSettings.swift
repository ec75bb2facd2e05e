import Analysis
import ControlProtocol

/// The `response:` section of the analyzer's configuration (passed to `serve` as `--response
/// JSON`): bmad's control socket, dry run, protected VMs and the rules.
///
///     response:
///       socket: /run/bma/bmad.sock
///       dry_run: false
///       protected_vms: [db1, 7]
///       rules:
///         - {name: block-scans, signature: "*port scan*", severity: 2, action: drop, target: destination,
///            seconds: 300, max_per_minute: 5}
struct ResponseSettings {
    var socket: String
    var dryRun: Bool
    var protectedVMs: [String]
    var rules: [ResponseRule]

    static let keys: Set<String> = ["socket", "dry_run", "protected_vms", "rules"]
    static let ruleKeys: Set<String> = ["name", "signature", "severity", "vms", "action", "target", "seconds", "max_per_minute", "max_vms_per_minute",
                                        "priority", "packets_per_second", "bytes_per_second"]

    /// Parses the section; errors name the field (`response.rules[0].action: ...`).
    static func parse(_ text: String) throws(AnalyzerFailure) -> ResponseSettings {
        do {
            guard let o = try JSONValue.parse(text).objectValue else { throw AnalyzerFailure.usage("response: must be a mapping") }
            return try parse(Params(o, path: "response"))
        } catch let e as AnalyzerFailure {
            throw e
        } catch let e as ControlError {
            throw .usage(e.message)
        } catch {
            throw .usage("response: \(error)")
        }
    }

    private static func parse(_ p: Params) throws -> ResponseSettings {
        try p.rejectUnknown(allowing: keys)
        let protected = try (p.optionalArray("protected_vms") ?? []).enumerated().map { i, v -> String in
            if let s = v.stringValue { return s }
            if let n = v.intValue { return String(n) }
            throw p.invalid("protected_vms[\(i)]", "must be a VM name or id")
        }
        var rules: [ResponseRule] = []
        for (i, item) in try (p.optionalArray("rules") ?? []).enumerated() {
            guard let o = item.objectValue else { throw p.invalid("rules[\(i)]", "must be a mapping") }
            let r = Params(o, path: p.name("rules[\(i)]"))
            try r.rejectUnknown(allowing: ruleKeys)
            let action = try r.string("action")
            guard ResponseRule.actions.contains(action) else {
                throw r.invalid("action", "'\(action)' is not one of \(ResponseRule.actions.joined(separator: ", "))")
            }
            let targetText = try r.optionalString("target") ?? "flow"
            guard let target = ResponseRule.Target(rawValue: targetText) else {
                throw r.invalid("target", "'\(targetText)' is not one of \(ResponseRule.Target.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let vms = try r.optionalArray("vms")?.map { v -> String in v.stringValue ?? v.intValue.map(String.init) ?? "" }
            let rule = ResponseRule(
                name: try r.optionalString("name") ?? "rule\(i + 1)", signature: try r.optionalString("signature"),
                severity: try r.optionalInt("severity", in: 1...255), vms: vms, action: action, target: target,
                seconds: try r.double("seconds", in: 0.001...(7 * 86_400)),
                maxPerMinute: try r.optionalInt("max_per_minute", in: 1...100_000) ?? 10,
                maxVMsPerMinute: try r.optionalInt("max_vms_per_minute", in: 1...100_000),
                priority: try r.optionalInt("priority", in: -1_000_000...1_000_000) ?? 0,
                packetsPerSecond: try r.optionalDouble("packets_per_second", in: 1...1e9),
                bytesPerSecond: try r.optionalDouble("bytes_per_second", in: 64...1e12))
            if action == "rate-limit" && rule.packetsPerSecond == nil && rule.bytesPerSecond == nil {
                throw r.invalid("packets_per_second", "rate-limit needs packets_per_second or bytes_per_second")
            }
            if rules.contains(where: { $0.name == rule.name }) { throw r.invalid("name", "'\(rule.name)' is used twice") }
            rules.append(rule)
        }
        return ResponseSettings(socket: try p.optionalString("socket") ?? "/run/bma/bmad.sock",
                                dryRun: try p.optionalBool("dry_run") ?? false, protectedVMs: protected, rules: rules)
    }
}
