import ArgumentParser
import Control

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show bmad's version, uptime and sizes.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        try global.run(StatusRequest()) { Output.lines(StatusView.lines($0)) }
    }
}

enum StatusView {
    /// The contract's fields first, in its order, with readable labels; anything else after.
    static let known: [(key: String, label: String)] = [
        ("version", "version"), ("uptime_s", "uptime"), ("pid", "pid"), ("workers", "workers"),
        ("vms", "vms"), ("policies", "policies"), ("policy_generation", "policy generation"),
        ("state_dir", "state dir"),
    ]

    static func lines(_ result: JSONValue) -> [String] {
        guard var members = result.objectValue else { return KeyValueText.lines(result) }
        var out: [String] = []
        for (key, label) in known {
            guard let v = members.removeValue(forKey: key) else { continue }
            if key == "uptime_s", let s = Field.number(v) {
                out.append("\(label): \(Units.duration(s))")
            } else {
                out += KeyValueText.member(label, v, indent: 0)
            }
        }
        if !members.isEmpty { out += KeyValueText.lines(.object(members)) }
        return out
    }
}
