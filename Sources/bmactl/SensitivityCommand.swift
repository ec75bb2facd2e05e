import ArgumentParser
import BMAContract
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

        /// Taken as text so that a negative number reaches validate() instead of being read as an option.
        @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The new sensitivity, 0-100.", valueName: "value"))
        var text: [String] = []

        var value: Double { Double(text.first ?? "") ?? .nan }

        @Option(help: ArgumentHelp("Only this VM (name or id).", valueName: "vm"))
        var vm: String?

        func validate() throws {
            guard text.count == 1 else {
                throw ValidationError(text.isEmpty ? "give the sensitivity, a number from 0 to 100" : "one sensitivity only, got \(text.joined(separator: " "))")
            }
            guard value.isFinite, SensitivitySetRequest.range.contains(value) else {
                throw ValidationError("the sensitivity must be a number from 0 to 100, got '\(text[0])'")
            }
        }

        func run() throws {
            try global.run(SensitivitySetRequest.set(value, vm: vm.map(VMReference.init(text:))), human: SensitivityCommand.show)
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
            try global.run(SensitivitySetRequest.reset(vm: vm.map(VMReference.init(text:))), human: SensitivityCommand.show)
        }
    }
}
