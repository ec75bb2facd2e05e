import ControlProtocol
import ArgumentParser

/// "did you mean" for a mistyped subcommand: `bmactl polcy list` → "unknown command 'polcy';
/// did you mean 'policy'?". Walks the command tree along the arguments (past the global
/// options) until another option, a leaf command or a word that is no subcommand.
enum CommandSuggestion {
    static func check(_ arguments: [String], root: any ParsableCommand.Type = Bmactl.self) -> String? {
        var command = root
        var path = [root.configuration.commandName ?? "bmactl"]
        var skipValue = false
        for word in arguments {
            if skipValue {
                skipValue = false
                continue
            }
            // The global options may come first (`bmactl --socket PATH polcy`).
            if ["--socket", "--timeout"].contains(word) {
                skipValue = true
                continue
            }
            if word == "--json" || word.hasPrefix("--socket=") || word.hasPrefix("--timeout=") { continue }
            if word.hasPrefix("-") { return nil }
            let subcommands = command.configuration.subcommands
            if subcommands.isEmpty || word == "help" { return nil }
            if let next = subcommands.first(where: { name(of: $0) == word }) {
                command = next
                path.append(word)
                continue
            }
            let names = subcommands.map(name(of:))
            let hint = Suggestion.closest(to: word, among: names).map { "did you mean '\($0)'?" } ?? "use one of \(names.joined(separator: ", "))"
            return "unknown command '\(word)' for '\(path.joined(separator: " "))'; \(hint)"
        }
        return nil
    }

    static func name(of command: any ParsableCommand.Type) -> String {
        command.configuration.commandName ?? String(describing: command).lowercased()
    }
}
