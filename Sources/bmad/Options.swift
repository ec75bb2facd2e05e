/// Command line of `bmad run` (the default): `bmad [EAL options] -- [options]`.
struct Options {
    var configPath: String?
    var summaryPath: String?
    var exitWhenIdleMs: UInt64?
    var statsInterval: Double?
    var quiet = false

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

    static func parse(_ args: [String]) throws(ParseError) -> Options {
        var o = Options()
        var i = 0
        func value(_ flag: String) throws(ParseError) -> String {
            i += 1
            guard i < args.count else { throw .message("\(flag) needs a value") }
            return args[i]
        }
        while i < args.count {
            let a = args[i]
            switch a {
            case "--config": o.configPath = try value(a)
            case "--summary-json": o.summaryPath = try value(a)
            case "--exit-when-idle":
                let v = try value(a)
                guard let ms = UInt64(v), ms > 0 else { throw .message("--exit-when-idle: '\(v)' is not a positive number of milliseconds") }
                o.exitWhenIdleMs = ms
            case "--stats-interval":
                let v = try value(a)
                guard let s = Double(v), s > 0, s.isFinite else { throw .message("--stats-interval: '\(v)' is not a positive number of seconds") }
                o.statsInterval = s
            case "--quiet": o.quiet = true
            default: throw .message("unknown option '\(a)' (see bmad --help)")
            }
            i += 1
        }
        guard o.configPath != nil else { throw .message("--config PATH is required (see bmad --help)") }
        return o
    }
}
