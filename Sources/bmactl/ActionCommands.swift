import ArgumentParser
import BMAContract
import Control

struct ActionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "action", abstract: "List, add and remove response actions (drop, rate-limit, force-mirror, allow).",
        subcommands: [List.self, Add.self, Remove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the actions in force with their counters, then the recent events.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try global.run(ActionListRequest()) { Output.lines(ActionView.list($0)) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an action for a while (the same kind and target again extends it).",
            discussion: """
                The target is a VM, a flow of the VM's (--flow) or a destination (--destination, \
                optionally --proto and --port). Examples:
                  bmactl action add drop --vm web1 --flow 10.0.1.5,10.0.0.9,tcp,40000,22 --seconds 300 --reason scan
                  bmactl action add rate-limit --destination 203.0.113.0/24 --pps 100 --seconds 60
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "drop, rate-limit, force-mirror or allow.") var kind: String
        @Option(help: ArgumentHelp("The VM (name or id).", valueName: "vm")) var vm: String?
        @Option(help: ArgumentHelp("A flow the VM sends: source and destination address, protocol, source and destination port.",
                                   valueName: "src,dst,proto,sport,dport"))
        var flow: String?
        @Option(help: ArgumentHelp("A destination network.", valueName: "cidr")) var destination: String?
        @Option(help: ArgumentHelp("With --destination: only this protocol.", valueName: "proto")) var proto: String?
        @Option(help: ArgumentHelp("With --destination: only this destination port.", valueName: "port")) var port: Int?
        @Option(help: ArgumentHelp("rate-limit: packets per second.", valueName: "n")) var pps: Double?
        @Option(help: ArgumentHelp("rate-limit: bytes per second.", valueName: "n")) var bps: Double?
        @Option(help: ArgumentHelp("How long the action stays in force.", valueName: "seconds")) var seconds: Double
        @Option(help: "Higher wins where actions overlap.") var priority: Int?
        @Option(help: "Why (kept with the action and logged).") var reason: String?

        func run() throws {
            var p: [String: JSONValue] = ["kind": .string(kind)]
            if let vm { p["vm"] = VMReference(text: vm).json }
            if let flow { p["flow"] = .object(try MirrorCommand.Force.flow(flow).params) }
            if let destination {
                var o: [String: JSONValue] = ["cidr": .string(destination)]
                if let proto { o["proto"] = .string(proto) }
                if let port { o["port"] = .number(Double(port)) }
                p["destination"] = .object(o)
            } else if proto != nil || port != nil {
                throw ValidationError("--proto and --port go with --destination")
            }
            if let pps { p["packets_per_second"] = .number(pps) }
            if let bps { p["bytes_per_second"] = .number(bps) }
            if let priority { p["priority"] = .number(Double(priority)) }
            if let reason { p["reason"] = .string(reason) }
            try global.run(ActionAddRequest(action: p, seconds: seconds)) { r in
                Output.line("action \(Field.text(r["id"])) \(Field.text(r["event"])): \(Field.text(r["kind"])) until \(Field.text(r["expires"]))")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an action before it expires.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The action id.") var id: Int

        func run() throws {
            try global.run(ActionRemoveRequest(id: UInt32(id))) { _ in Output.line("action \(id) removed") }
        }
    }
}

/// action.list as tables.
enum ActionView {
    static func list(_ r: JSONValue) -> [String] {
        var t = Table([("ID", .right), ("KIND", .left), ("TARGET", .left), ("PRIO", .right), ("LEFT S", .right),
                       ("MATCHED", .right), ("DROPPED", .right), ("LIMITED", .right), ("MIRRORED", .right),
                       ("ALLOWED", .right), ("REASON", .left)])
        for a in Field.objects(r["actions"]) ?? [] {
            let c = a["counters"]
            t.add([Field.text(a["id"]), Field.text(a["kind"]), target(a), Field.text(a["priority"]), Field.text(a["seconds_left"]),
                   Field.count(c?["matched"]), Field.count(c?["dropped"]), Field.count(c?["limited"]),
                   Field.count(c?["mirrored"]), Field.count(c?["allowed"]), Field.text(a["reason"])])
        }
        var out = t.rows.isEmpty ? ["no actions in force"] : t.lines()
        let events = Field.objects(r["events"]) ?? []
        if !events.isEmpty {
            out.append("")
            var e = Table([("TIME", .left), ("EVENT", .left), ("ID", .right), ("KIND", .left), ("TARGET", .left)])
            for ev in events.suffix(20) {
                e.add([Field.text(ev["time"]), Field.text(ev["event"]), Field.text(ev["id"]), Field.text(ev["kind"]), Field.text(ev["target"])])
            }
            out += e.lines()
        }
        return out
    }

    static func target(_ a: [String: JSONValue]) -> String {
        var parts: [String] = []
        if let f = a["flow"] {
            let sp = f["src_port"].map { ":\(Field.text($0))" } ?? "", dp = f["dst_port"].map { ":\(Field.text($0))" } ?? ""
            parts.append("\(Field.text(f["proto"])) \(Field.text(f["src"]))\(sp) -> \(Field.text(f["dst"]))\(dp)")
        }
        if let d = a["destination"] {
            parts.append("to \(Field.text(d["cidr"]))\(d["proto"].map { " \(Field.text($0))" } ?? "")\(d["port"].map { ":\(Field.text($0))" } ?? "")")
        }
        if let vm = a["vm"] { parts.append("vm \(Field.text(vm))") }
        return parts.joined(separator: " ")
    }
}
