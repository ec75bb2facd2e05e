import ArgumentParser

/// bmactl: the control CLI of bmad (docs/control-protocol.md).
///
/// Every leaf command includes `GlobalOptions`, so `--socket`, `--json` and `--timeout` may be
/// written before or after the subcommand's name.
struct Bmactl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bmactl",
        abstract: "Control a running bmad over its Unix control socket.",
        discussion: """
            Output is a readable table by default; --json prints the daemon's result as JSON \
            for scripts.

            Exit status: 0 success; 1 runtime failure: the daemon answered with an error \
            (printed as 'bmactl: <code>: <message>'); 2 usage error; 3 not found or \
            unreachable: the VM or policy named does not exist, or bmad cannot be reached (no \
            socket, permission denied, busy, timeout).

            The socket is --socket, else $BMA_SOCKET, else /run/bma/bmad.sock.

            Shell completion: bmactl --generate-completion-script bash (or zsh, fish), e.g.
              bmactl --generate-completion-script bash > /etc/bash_completion.d/bmactl
            """,
        version: "0.1.0",
        subcommands: [
            StatusCommand.self, StatsCommand.self, TopCommand.self, VMCommand.self,
            BaselineCommand.self, PolicyCommand.self, SensitivityCommand.self, MirrorCommand.self,
            ConfigCommand.self, ActionCommand.self,
        ])

    /// Accepted here too, so they may come before the subcommand (`bmactl --json vm list`);
    /// the leaf commands receive the values.
    @OptionGroup var global: GlobalOptions
}
