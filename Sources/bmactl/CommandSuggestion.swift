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
            let close = names.map { ($0, distance(word, $0)) }.filter { $0.1 <= (word.count <= 3 ? 1 : 2) }
                .min { $0.1 < $1.1 }
            let hint = close.map { "did you mean '\($0.0)'?" } ?? "use one of \(names.joined(separator: ", "))"
            return "unknown command '\(word)' for '\(path.joined(separator: " "))'; \(hint)"
        }
        return nil
    }

    static func name(of command: any ParsableCommand.Type) -> String {
        command.configuration.commandName ?? String(describing: command).lowercased()
    }

    /// Levenshtein distance (small words: the simple table is enough).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}
