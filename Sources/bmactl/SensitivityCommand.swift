import ArgumentParser
import Control

struct SensitivityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensitivity", abstract: "Change the anomaly sensitivity.",
        subcommands: [SetValue.self])

    struct SetValue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Set the sensitivity, globally or for one VM.",
            discussion: "The score at which a packet counts as anomalous; --vm limits the change to one VM.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The new sensitivity.")
        var value: Double

        @Option(help: ArgumentHelp("Only this VM (name or id).", valueName: "vm"))
        var vm: String?

        func validate() throws {
            guard value.isFinite else { throw ValidationError("the sensitivity must be a finite number") }
        }

        func run() throws {
            var params: [String: JSONValue] = ["value": .number(value)]
            if let vm { params["vm"] = VMArgument.json(vm) }
            try global.run("sensitivity.set", params) { result in
                guard let v = result["value"], !v.isNull else { return Output.lines(KeyValueText.lines(result)) }
                if let who = result["vm"], !who.isNull {
                    Output.line("sensitivity of \(Field.text(who)): \(Field.plain(v))")
                } else {
                    Output.line("sensitivity (global): \(Field.plain(v))")
                }
            }
        }
    }
}
