import ArgumentParser
import Glibc

/// Runs bmactl with its own exit codes: ArgumentParser's usage errors exit 2 (not 64), a
/// `BmactlFailure` exits with its code after printing its message on stderr.
@main
enum BmactlEntry {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let problem = CommandSuggestion.check(arguments) {
            Output.error("bmactl: \(problem)")
            exit(BmactlFailure.usageCode)
        }
        do {
            var command = try Bmactl.parseAsRoot(arguments)
            try command.run()
            Output.flush()
            exit(0)
        } catch let failure as BmactlFailure {
            Output.flush()
            Output.error("bmactl: \(failure.message)")
            exit(failure.exitCode)
        } catch {
            Output.flush()
            let code = Bmactl.exitCode(for: error)
            let message = Bmactl.fullMessage(for: error)
            if code.isSuccess {
                if !message.isEmpty { Output.line(message) }
                Output.flush()
                exit(0)
            }
            guard code == .validationFailure else {
                if !message.isEmpty { Output.error(message) }
                exit(code.rawValue)
            }
            // One line, like bmad's and bma-analyzer's usage errors: ArgumentParser's message and
            // where the help is, without its "Error:" prefix and usage block.
            Output.error("bmactl: \(Bmactl.message(for: error)) (see \(helpCommand(in: message)))")
            exit(BmactlFailure.usageCode)
        }
    }

    /// "bmactl sensitivity set --help", from ArgumentParser's "See '...' for more information."
    static func helpCommand(in fullMessage: String) -> String {
        guard let start = fullMessage.range(of: "See '"),
              let end = fullMessage[start.upperBound...].range(of: "' for more information") else { return "bmactl --help" }
        return String(fullMessage[start.upperBound..<end.lowerBound])
    }
}
