import ArgumentParser

/// bma-analyzer: the analysis-cluster node.
@main
struct Analyzer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bma-analyzer",
        abstract: "Receive, store and inspect traffic mirrored by bmad hosts, and raise alerts.",
        discussion: """
        `serve` listens for Geneve (UDP 6081), VXLAN (UDP 4789) and, as root, ERSPAN type II (GRE); \
        stores what arrives as pcapng with BMA's metadata, indexed by VM, time and flow; runs the \
        inspection modules; and writes alerts as EVE JSON lines. The other commands work on a store \
        directory: import captures, query packets out, list alerts; `status` asks a running node.
        """,
        version: "0.2.0",
        subcommands: [ServeCommand.self, ImportCommand.self, QueryCommand.self, AlertsCommand.self, StatusCommand.self])
}
