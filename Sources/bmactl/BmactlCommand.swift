import ArgumentParser

/// bmactl: the control CLI of bmad.
@main
struct Bmactl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bmactl",
        abstract: "Control a running bmad over its Unix control socket.",
        version: "0.1.0")
}
