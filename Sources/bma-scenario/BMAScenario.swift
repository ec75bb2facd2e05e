import ArgumentParser

@main
struct BMAScenario: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bma-scenario",
        abstract: "Build labelled test scenarios for BMA from pcap captures.",
        discussion: """
            A scenario is a VM's benign capture with an attack spliced in: the attacker's packets \
            are rewritten to come from the VM and shifted in time, so which packets are the attack \
            is known by construction and written to a labels file.
            """,
        subcommands: [SpliceCommand.self, InfoCommand.self])
}
