import ArgumentParser
import BMAContract
import Control

struct VMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm", abstract: "List and inspect the VMs.", subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the VMs with their counters.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            try global.run(VMListRequest()) { Output.lines(VMView.list($0)) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one VM: counters, reasons, baseline summary, forced mirroring.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The VM (name or id).")
        var vm: String

        func run() throws {
            try global.run(VMShowRequest(vm: VMReference(text: vm))) { Output.lines(VMView.show($0)) }
        }
    }
}

enum VMView {
    static func list(_ result: JSONValue) -> [String] {
        guard let vms = Field.objects(result["vms"]) else { return KeyValueText.lines(result) }
        if vms.isEmpty { return ["no VMs"] }
        var t = Table([("NAME", .left), ("ID", .right), ("MAC", .left), ("LINK", .left), ("OUTGOING", .right),
                       ("MIRRORED", .right), ("LEARNING", .left), ("FROZEN", .left), ("SENSITIVITY", .right)])
        for vm in vms {
            t.add([Field.text(vm["name"]), Field.text(vm["id"]), Field.text(vm["mac"]), Field.link(vm["link_up"]),
                   Field.count(vm["outgoing"]), Field.count(vm["mirrored"]), Field.yesNo(vm["learning"]),
                   Field.yesNo(vm["frozen"]), Field.plain(vm["sensitivity"])])
        }
        return t.lines()
    }

    /// `vm.show`'s shape is open ("counters, reasons, baseline summary, forced-mirror expiry"):
    /// key: value lines, with the reasons by count (non-zero, largest first) and expiry times
    /// made readable.
    static func show(_ result: JSONValue) -> [String] {
        guard var members = result.objectValue else { return KeyValueText.lines(result) }
        var tail: [String] = []
        if let reasons = members["reasons"], reasons.objectValue != nil {
            members.removeValue(forKey: "reasons")
            let nonZero = Field.counters(reasons)
            tail.append(nonZero.isEmpty ? "reasons: none" : "reasons:")
            let width = nonZero.map(\.0.count).max() ?? 0
            for (name, n) in nonZero {
                tail.append("  " + Text.clean(name) + ":" + String(repeating: " ", count: width - name.count + 1) + Units.plain(n))
            }
        }
        for key in members.keys where key.hasSuffix("until") || key.hasSuffix("expiry") || key.hasSuffix("expires") {
            if let t = Field.number(members[key]), t > 1_000_000_000 { members[key] = .string(TimeText.instant(members[key])) }
        }
        return KeyValueText.lines(.object(members)) + tail
    }
}
