import ArgumentParser

/// bma-analyzer: the analysis-cluster node.
@main
struct Analyzer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bma-analyzer",
        abstract: "Receive, store and inspect traffic mirrored by bmad hosts.",
        version: "0.1.0")
}
