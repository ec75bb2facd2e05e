import ArgumentParser
import Control

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "List and change the mirroring policies.",
        subcommands: [List.self, Show.self, Add.self, Update.self, Remove.self, Replace.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the policies, highest priority first.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            try global.run(PolicyListRequest()) { Output.lines(PolicyView.list($0)) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one policy.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The policy id.") var id: Int

        func run() throws {
            try global.run(PolicyShowRequest(id: try PolicyArgument.id(id))) { Output.lines(PolicyView.show($0)) }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a policy.",
            discussion: """
                The policy is the JSON object of docs/control-protocol.md, read from --file or \
                stdin, or built from the flags (flags also override fields of --file). Without \
                --id the daemon picks the next free id. Example:
                  bmactl policy add --name 'dns of web1' --priority 100 --vm web1 --protocol udp --dst-ports 53,853 --mirror always
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .long], help: ArgumentHelp("Read the policy JSON from this file ('-': stdin).", valueName: "file"),
                completion: .file())
        var file: String?
        @OptionGroup(title: "Policy") var flags: PolicyFlags
        @Flag(help: "Accept VMs bmad does not run (yet): a policy prepared before its VM exists.")
        var allowFutureVM = false

        func run() throws {
            var policy: [String: JSONValue] = [:]
            if file != nil || flags.isEmpty { policy = try PolicyInput.object(file) }
            policy = flags.apply(to: policy)
            try global.run(PolicyAddRequest(policy: policy, allowFutureVM: allowFutureVM)) { result in
                Output.line("policy \(Field.text(result["id"])) added")
                Output.lines(PolicyView.show(result))
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a policy (same id) with a new version.",
            discussion: """
                The new policy comes from --file or stdin (a complete policy with its id), or \
                from flags: then bmactl reads the stored policy (policy.show --id) and changes \
                only the fields given, e.g.
                  bmactl policy update --id 10 --mirror never
                """)
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .long], help: ArgumentHelp("Read the policy JSON from this file ('-': stdin).", valueName: "file"),
                completion: .file())
        var file: String?
        @OptionGroup(title: "Policy") var flags: PolicyFlags
        @Flag(help: "Accept VMs bmad does not run (yet): a policy prepared before its VM exists.")
        var allowFutureVM = false

        func run() throws {
            let session = global.session()
            var policy: [String: JSONValue]
            if file != nil || flags.isEmpty {
                policy = try PolicyInput.object(file)
            } else {
                guard let id = flags.id else {
                    throw ValidationError("policy update from flags needs --id (or the policy JSON from --file or stdin)")
                }
                policy = try session.call(PolicyShowRequest(id: try PolicyArgument.id(id))).objectValue ?? [:]
            }
            policy = flags.apply(to: policy)
            guard policy["id"] != nil else { throw BmactlFailure.usage("policy update: the policy has no id (give --id)") }
            let result = try session.call(PolicyUpdateRequest(policy: policy, allowFutureVM: allowFutureVM))
            if global.json { return Output.json(result) }
            Output.line("policy \(Field.text(result["id"] ?? policy["id"])) updated")
            Output.lines(PolicyView.show(result))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a policy.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The policy id.") var id: Int

        func run() throws {
            try global.run(PolicyRemoveRequest(id: try PolicyArgument.id(id))) { result in
                Output.line("policy \(result["id"].map(Field.text) ?? String(id)) removed")
            }
        }
    }

    struct Replace: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace every policy at once (all or nothing).",
            discussion: "Reads a JSON array of policies, or {\"policies\": [...]}, from --file or stdin. An empty list removes every policy.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .long], help: ArgumentHelp("Read the policies from this file ('-': stdin).", valueName: "file"),
                completion: .file())
        var file: String?
        @Flag(help: "Accept VMs bmad does not run (yet): a policy prepared before its VM exists.")
        var allowFutureVM = false

        func run() throws {
            let input = try JSONInput.read(file)
            let policies: [JSONValue]
            if let list = input.arrayValue {
                policies = list
            } else if let list = input["policies"]?.arrayValue {
                policies = list
            } else {
                throw BmactlFailure.usage("\(file ?? "stdin"): expected a JSON array of policies or {\"policies\": [...]}, got \(input.typeName)")
            }
            try global.run(PolicyReplaceRequest(policies: policies, allowFutureVM: allowFutureVM)) { result in
                guard result["count"] != nil || result["generation"] != nil else {
                    return Output.lines(KeyValueText.lines(result))
                }
                Output.line("policies replaced: \(Field.text(result["count"])) policies, generation \(Field.text(result["generation"]))")
            }
        }
    }
}

enum PolicyInput {
    /// A policy object from `file` (nil: stdin).
    static func object(_ file: String?) throws(BmactlFailure) -> [String: JSONValue] {
        let value = try JSONInput.read(file)
        guard let o = value.objectValue else {
            throw .usage("\(file ?? "stdin"): a policy is a JSON object, got \(value.typeName)")
        }
        return o
    }
}

enum PolicyView {
    static func list(_ result: JSONValue) -> [String] {
        guard let policies = Field.objects(result["policies"]) else { return KeyValueText.lines(result) }
        var out: [String] = []
        if policies.isEmpty {
            out.append("no policies")
        } else {
            var t = Table([("ID", .right), ("PRIO", .right), ("NAME", .left), ("MATCH", .left), ("MIRROR", .left)])
            for p in policies {
                t.add([Field.text(p["id"]), p["priority"].map(Field.text) ?? "0", Field.text(p["name"]),
                       matchSummary(p["match"]), mirrorMode(p["action"])])
            }
            out += t.lines()
        }
        if let generation = result["generation"] { out += ["", "generation: \(Field.text(generation))"] }
        return out
    }

    static func mirrorMode(_ action: JSONValue?) -> String {
        guard let m = action?["mirror"], !m.isNull else { return "on-anomaly" }
        return Field.text(m)
    }

    /// `vm web1,102 udp 10.0.0.0/8 -> any dport 53,853 vlan 100 size 0-1500 in`; "any" for an
    /// empty match.
    static func matchSummary(_ match: JSONValue?) -> String {
        guard let m = match?.objectValue else { return match == nil ? "any" : Field.text(match) }
        var parts: [String] = []
        func has(_ key: String) -> Bool { m[key] != nil && m[key]?.isNull == false }
        if has("vms") { parts.append("vm " + listText(m["vms"]!)) }
        if has("vlan") { parts.append("vlan " + Field.text(m["vlan"])) }
        if has("protocol") { parts.append(Field.text(m["protocol"])) }
        if has("src_cidr") || has("dst_cidr") {
            parts.append((has("src_cidr") ? Field.text(m["src_cidr"]) : "any") + " -> "
                         + (has("dst_cidr") ? Field.text(m["dst_cidr"]) : "any"))
        }
        if has("src_ports") { parts.append("sport " + listText(m["src_ports"]!)) }
        if has("dst_ports") { parts.append("dport " + listText(m["dst_ports"]!)) }
        switch (has("size_min") ? Field.text(m["size_min"]) : nil, has("size_max") ? Field.text(m["size_max"]) : nil) {
        case (let lo?, let hi?): parts.append("size \(lo)-\(hi)")
        case (let lo?, nil): parts.append("size >=\(lo)")
        case (nil, let hi?): parts.append("size <=\(hi)")
        case (nil, nil): break
        }
        if let d = m["direction"]?.stringValue, d != "out" { parts.append(d == "both" ? "both directions" : d) }
        let known: Set<String> = ["vms", "vlan", "protocol", "src_cidr", "dst_cidr", "src_ports", "dst_ports",
                                  "size_min", "size_max", "direction"]
        for key in m.keys.sorted() where !known.contains(key) && has(key) {
            parts.append("\(key)=\(Field.text(m[key]))")
        }
        return parts.isEmpty ? "any" : parts.joined(separator: " ")
    }

    private static func listText(_ v: JSONValue) -> String {
        if let items = v.arrayValue { return items.map(Field.text).joined(separator: ",") }
        return Field.text(v)
    }

    /// id, name, priority, then match and action, then anything else.
    static func show(_ result: JSONValue) -> [String] {
        guard var members = result.objectValue else { return KeyValueText.lines(result) }
        var out: [String] = []
        for key in ["id", "name", "priority"] {
            if let v = members.removeValue(forKey: key) { out += KeyValueText.member(key, v, indent: 0) }
        }
        for key in ["match", "action"] {
            guard let v = members.removeValue(forKey: key) else { continue }
            if let o = v.objectValue, !o.isEmpty {
                out.append(key + ":")
                out += KeyValueText.lines(v, indent: 2)
            } else {
                out.append(key + ": " + (key == "match" ? "any" : "defaults"))
            }
        }
        if !members.isEmpty { out += KeyValueText.lines(.object(members)) }
        return out
    }
}
