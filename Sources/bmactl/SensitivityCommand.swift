import ArgumentParser
import Control

struct SensitivityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensitivity", abstract: "Change the anomaly sensitivity.",
        subcommands: [SetValue.self, Reset.self])

    /// "sensitivity (global): 2", "sensitivity of web1: 3", "sensitivity of web1: global".
    static func show(_ result: JSONValue) {
        let value = result["value"].flatMap { $0.isNull ? nil : $0 }
        if let who = result["vm"], !who.isNull {
            Output.line("sensitivity of \(Field.text(who)): \(value.map(Field.plain) ?? "global")")
        } else if let value {
            Output.line("sensitivity (global): \(Field.plain(value))")
        } else {
            Output.lines(KeyValueText.lines(result))
        }
    }

    struct SetValue: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Set the sensitivity, globally or for one VM.",
            discussion: "The score at which a packet counts as anomalous; --vm limits the change to one VM. The value is saved in the state directory and outlives a restart until `sensitivity reset`.")

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
            try global.run(.sensitivitySet, params, human: SensitivityCommand.show)
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset", abstract: "Forget a sensitivity set at run time.",
            discussion: "The configuration's value applies again (detection.sensitivity, or the VM's vms[].sensitivity).")

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Only this VM (name or id).", valueName: "vm"))
        var vm: String?

        func run() throws {
            var params: [String: JSONValue] = ["reset": .bool(true)]
            if let vm { params["vm"] = VMArgument.json(vm) }
            try global.run(.sensitivitySet, params, human: SensitivityCommand.show)
        }
    }
}
