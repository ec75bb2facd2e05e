import ArgumentParser
import BMAContract
import Control
import Foundation

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline", abstract: "Inspect and manage a VM's learned baseline.",
        subcommands: [Show.self, Freeze.self, Unfreeze.self, Reset.self, Export.self, Import.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Summarise a VM's baseline and list its services.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The VM (name or id).") var vm: String

        func run() throws {
            try global.run(BaselineShowRequest(vm: VMReference(text: vm))) { Output.lines(BaselineView.lines($0)) }
        }
    }

    struct Freeze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Freeze a VM's baseline: it keeps judging but learns nothing.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The VM (name or id).") var vm: String

        func run() throws {
            try global.run(BaselineFreezeRequest(vm: VMReference(text: vm))) { BaselineView.frozen($0, vm) }
        }
    }

    struct Unfreeze: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a frozen baseline learn again.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The VM (name or id).") var vm: String

        func run() throws {
            try global.run(BaselineUnfreezeRequest(vm: VMReference(text: vm))) { BaselineView.frozen($0, vm) }
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget a VM's baseline; it learns again from its next packet.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The VM (name or id).") var vm: String

        func run() throws {
            try global.run(BaselineResetRequest(vm: VMReference(text: vm))) { result in
                Output.line("baseline of \(BaselineView.who(result, vm)) reset: it learns again from its next packet")
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a VM's baseline as a self-contained JSON document.",
            discussion: "The document goes to stdout, or to --output. With --json, stdout gets the daemon's whole result ({vm, baseline}).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The VM (name or id).") var vm: String
        @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Write the document to this file.", valueName: "file"),
                completion: .file())
        var output: String?

        func run() throws {
            let result = try global.session().call(BaselineExportRequest(vm: VMReference(text: vm)))
            let document = result["baseline"] ?? result
            if let output {
                try JSONInput.write(PrettyJSON.text(document) + "\n", to: output)
                if global.json { Output.json(result) } else {
                    Output.line("baseline of \(BaselineView.who(result, vm)) written to \(output)")
                }
            } else {
                Output.json(global.json ? result : document)
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a VM's baseline with an exported document.",
            discussion: "Reads --input, or stdin. Accepts the document itself or the whole output of 'baseline export --json'.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The VM (name or id).") var vm: String
        @Option(name: [.short, .customLong("input")], help: ArgumentHelp("Read the document from this file (default: stdin).", valueName: "file"),
                completion: .file())
        var input: String?

        func run() throws {
            let document = BaselineView.unwrap(try JSONInput.read(input))
            guard document.objectValue != nil else {
                throw BmactlFailure.usage("\(input ?? "stdin"): a baseline document is a JSON object, got \(document.typeName)")
            }
            try global.run(BaselineImportRequest(vm: VMReference(text: vm), baseline: document)) { result in
                Output.line("baseline of \(BaselineView.who(result, vm)) imported")
            }
        }
    }
}

enum BaselineView {
    static func who(_ result: JSONValue, _ fallback: String) -> String {
        result["vm"].map(Field.text) ?? fallback
    }

    static func frozen(_ result: JSONValue, _ vm: String) {
        guard let frozen = result["frozen"]?.boolValue else { return Output.lines(KeyValueText.lines(result)) }
        Output.line(frozen ? "baseline of \(who(result, vm)) frozen: it keeps judging but learns nothing"
                           : "baseline of \(who(result, vm)) unfrozen: it learns again")
    }

    /// The output of `baseline export --json` (`{vm, baseline: {...}}`) carries the document
    /// under `baseline`; a bare document is taken as is.
    static func unwrap(_ v: JSONValue) -> JSONValue {
        if let o = v.objectValue, let inner = o["baseline"], inner.objectValue != nil,
           Set(o.keys).isSubset(of: ["vm", "baseline"]) {
            return inner
        }
        return v
    }

    static func lines(_ result: JSONValue) -> [String] {
        guard var members = result.objectValue else { return KeyValueText.lines(result) }
        let services = Field.objects(members.removeValue(forKey: "services"))
        var out: [String] = []
        for (key, label) in [("vm", "vm"), ("learned_packets", "learned packets"), ("learning", "learning"),
                             ("frozen", "frozen"), ("hosts", "hosts"), ("destinations", "destinations")] {
            guard let v = members.removeValue(forKey: key) else { continue }
            switch v {
            case .bool: out.append("\(label): \(Field.yesNo(v))")
            case .number: out.append("\(label): \(key == "vm" ? Field.text(v) : Field.count(v))")
            default: out += KeyValueText.member(label, v, indent: 0)
            }
        }
        if !members.isEmpty { out += KeyValueText.lines(.object(members)) }
        guard let services else { return out }
        out.append("services: \(services.count)")
        if services.isEmpty { return out }
        var t = Table([("SERVICE", .left), ("PACKETS", .right), ("PEAK", .right), ("SIZE MEAN", .right), ("SIZE STD", .right)])
        for s in services.sorted(by: { (Field.number($0["packets"]) ?? 0) > (Field.number($1["packets"]) ?? 0) }) {
            t.add([Field.text(s["key"]), Field.count(s["packets"]), Field.number(s["peak"]).map(Units.rate) ?? "-",
                   Field.number(s["size_mean"]).map { Units.format($0, decimals: 0) + " B" } ?? "-",
                   Field.number(s["size_std"]).map { Units.format($0, decimals: 0) + " B" } ?? "-"])
        }
        return out + [""] + t.lines()
    }
}
