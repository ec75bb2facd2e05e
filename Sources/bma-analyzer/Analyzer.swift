import ArgumentParser
import ControlProtocol
import Foundation

/// bma-analyzer: the analysis-cluster node.
@main
struct Analyzer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bma-analyzer",
        abstract: "Receive, store and inspect traffic mirrored by bmad hosts, and raise alerts.",
        discussion: """
        `serve` listens for Geneve (UDP 6081), VXLAN (UDP 4789) and, as root, ERSPAN type II (GRE); \
        stores what arrives as pcapng with BMA's metadata, indexed by VM, time and flow; runs the \
        inspection modules; writes alerts as EVE JSON lines; and serves the analysts' web console. The other \
        commands work on a store directory: import captures, query packets out, list alerts, write a \
        static report; `status` asks a running node.

        Times: Unix seconds, 2026-12-01T10:00Z (RFC 3339, seconds optional), 2026-12-01, -15m, -2h, \
        -1d, now, today, yesterday. Sizes: bytes or 512K, 200M, 200G, 2T (powers of 1024). VMs: an \
        id (101), vm101, or a name given with --vm-name.

        Exit status: 0 success, 1 runtime failure, 2 usage error, 3 not found (no store at the \
        path, no such VM, no node on the socket).
        """,
        version: "0.2.0",
        subcommands: [ServeCommand.self, ImportCommand.self, QueryCommand.self, AlertsCommand.self, ReportCommand.self, StatusCommand.self])

    /// The same exit codes as bmad and bmactl, and one line per error.
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        let names = configuration.subcommands.compactMap { $0.configuration.commandName }
        if let first = arguments.first, !first.hasPrefix("-"), first != "help", !names.contains(first) {
            let hint = Suggestion.closest(to: first, among: names).map { "did you mean '\($0)'?" }
                ?? "use one of \(names.joined(separator: ", "))"
            AnalyzerFailure.usage("unknown command '\(first)'; \(hint)").report()
        }
        do {
            arguments = try AnalyzerConfigFile.expand(arguments)
        } catch {
            error.report()
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            Foundation.exit(0)
        } catch let failure as AnalyzerFailure {
            failure.report()
        } catch {
            let code = exitCode(for: error)
            if code.isSuccess {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if code == .validationFailure {
                let subcommand = arguments.first { names.contains($0) }.map { " \($0)" } ?? ""
                AnalyzerFailure.usage("\(message(for: error)) (see bma-analyzer\(subcommand) --help)").report()
            }
            if error is ExitCode { Foundation.exit(code.rawValue) }
            AnalyzerFailure(AnalyzerFailure.describe(error)).report()
        }
    }
}
