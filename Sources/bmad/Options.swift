import ArgumentParser
import ControlProtocol

/// Command line of `bmad run` (the default): `bmad [EAL options] -- [options]`.
struct Options {
    var configPath: String?
    var summaryPath: String?
    var exitWhenIdleMs: UInt64?
    var statsInterval: Double?
    var quiet = false
    var profileStages = false

    static let help = """
    bmad: the BMA per-host dataplane. Forwards each VM's traffic to the uplink and traffic from the
    uplink to the VM that owns the destination MAC (broadcast and multicast to every VM), learns
    what each VM normally sends, and copies what deviates to the mirror port.

    usage: bmad [EAL options] -- --config PATH [options]
           bmad replay --vm NAME=PATH[@MAC] ... --mirror-out PATH [...]   (see bmad replay --help)
           bmad --help | --version

    EAL options are DPDK's (-l, --file-prefix, -m, --no-pci, --vdev, ...) and go before "--";
    bmad's own options after it. The first lcore is the main lcore (control, statistics); every
    other lcore runs a poll-mode worker. Unless given, bmad adds --file-prefix NAME (the
    configuration file's name without .yaml: /etc/bma/bmad.yaml gives "bmad") and
    --log-level=lib.vhost.*:warning (the vhost library logs every negotiation step at info).

    One bmad per configuration: before EAL starts, bmad locks a file next to its control socket
    (/run/bma/bmad.sock: /run/bma/bmad.lock). A second bmad on the same configuration exits with
    status 1 naming the running one's pid, having touched none of its sockets or outputs.

    exit status: 0 stopped cleanly, 1 runtime failure (EAL, ports, lock held), 2 usage or
    configuration error.

    options:
      --config PATH          YAML configuration: VMs, uplink, mirror, workers, mempool, queues
                             (see config/bmad.example.yaml)
      --summary-json PATH    on exit, write every counter as JSON to PATH
      --exit-when-idle MS    exit once every VM port has received nothing for MS milliseconds
                             (the clock starts at launch; for replays and tests)
      --stats-interval SEC   print a line of live counters every SEC seconds
      --quiet                print only errors
      --profile-stages       count cycles per stage of the packet path (receive, policy, detect,
                             decide, mirror, transmit) in stats and --summary-json; costs a few
                             clock reads per burst (for scripts/bench --profile)
      -h, --help             show this help
      --version              show the version

    While it runs, bmactl talks to it on the control socket (control.socket in the configuration,
    default /run/bma/bmad.sock); policies and baselines are kept in control.state_dir.

    signals: SIGUSR1 prints every counter; SIGINT or SIGTERM stops cleanly.
    """

    enum ParseError: Error, CustomStringConvertible {
        case message(String)
        var description: String { if case .message(let m) = self { return m }; return "" }
    }

    /// bmad's options, parsed by swift-argument-parser like bmactl's and bma-analyzer's.
    struct Arguments: ParsableArguments {
        @Option var config: String?
        @Option var summaryJson: String?
        @Option var exitWhenIdle: UInt64?
        @Option var statsInterval: Double?
        @Flag var quiet = false
        @Flag var profileStages = false

        func validate() throws {
            if config == nil { throw ValidationError("--config PATH is required") }
            if let ms = exitWhenIdle, ms == 0 { throw ValidationError("--exit-when-idle: '0' is not a positive number of milliseconds") }
            if let s = statsInterval, !(s > 0 && s.isFinite) {
                throw ValidationError("--stats-interval: '\(s)' is not a positive number of seconds")
            }
        }
    }

    static func parse(_ args: [String]) throws(ParseError) -> Options {
        // A mistyped option first, with a suggestion (ArgumentParser would report the missing
        // --config instead).
        let known = Array(CommandLineSplit.bmadOptions)
        if let typo = args.first(where: { $0.hasPrefix("--") && !CommandLineSplit.bmadOptions.contains(CommandLineSplit.name($0)) }) {
            let name = CommandLineSplit.name(typo)
            let hint = Suggestion.closest(to: name, among: known).map { "; did you mean '\($0)'?" } ?? ""
            throw .message("unknown option '\(name)'\(hint) (see bmad --help)")
        }
        let a: Arguments
        do { a = try Arguments.parse(args) } catch {
            throw .message("\(Arguments.message(for: error)) (see bmad --help)")
        }
        return Options(configPath: a.config, summaryPath: a.summaryJson, exitWhenIdleMs: a.exitWhenIdle,
                       statsInterval: a.statsInterval, quiet: a.quiet, profileStages: a.profileStages)
    }
}
