import ArgumentParser
import Control

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Show bmad's running configuration.",
        subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the running configuration.")

        @OptionGroup var global: GlobalOptions

        func run() throws {
            try global.run(ConfigShowRequest()) { Output.lines(KeyValueText.lines($0)) }
        }
    }
}
