/// Splits `bmad [EAL options] -- [bmad options]`, recognises options given on the wrong side of
/// `--`, and adds bmad's EAL defaults: a file prefix named after the configuration (so a bmad
/// started by hand never shares DPDK's default "rte" runtime files with another DPDK process) and
/// a log level that keeps the vhost library's connection chatter out of the journal.
struct CommandLineSplit {
    var eal: [String]
    var app: [String]

    /// bmad's own options (Options.parse), to recognise them before `--`.
    static let bmadOptions: Set<String> = ["--config", "--summary-json", "--exit-when-idle", "--stats-interval", "--quiet", "--profile-stages"]

    /// DPDK 22.11's EAL options (lib/eal/common/eal_options.h).
    static let ealOptions: Set<String> = [
        "-a", "-b", "-c", "-d", "-l", "-m", "-n", "-r", "-s", "-S", "-v",
        "--allow", "--base-virtaddr", "--block", "--create-uio-dev", "--file-prefix",
        "--force-max-simd-bitwidth", "--huge-dir", "--huge-unlink", "--huge-worker-stack", "--in-memory",
        "--iova-mode", "--lcores", "--legacy-mem", "--log-level", "--main-lcore", "--match-allocations",
        "--mbuf-pool-ops-name", "--no-hpet", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry",
        "--proc-type", "--service-corelist", "--service-coremask", "--single-file-segments", "--socket-limit",
        "--socket-mem", "--syslog", "--telemetry", "--trace", "--trace-bufsz", "--trace-dir", "--trace-mode",
        "--vdev", "--vfio-intr", "--vfio-vf-token", "--vmware-tsc-map",
    ]

    /// The vhost library logs every negotiation step at info level: warnings and errors only.
    static let defaultLogLevel = "--log-level=lib.vhost.*:warning"

    /// The option's name without an attached `=value`.
    static func name(_ argument: String) -> String {
        guard argument.hasPrefix("--"), let eq = argument.firstIndex(of: "=") else { return argument }
        return String(argument[..<eq])
    }

    static let usage = "bmad [EAL options] -- --config PATH [options]"

    init(_ arguments: [String]) throws(Options.ParseError) {
        if let sep = arguments.firstIndex(of: "--") {
            eal = Array(arguments[..<sep])
            app = Array(arguments[(sep + 1)...])
            if let misplaced = eal.first(where: { Self.bmadOptions.contains(Self.name($0)) }) {
                throw .message("'\(Self.name(misplaced))' is a bmad option, given before '--' where EAL (DPDK) options go: \(Self.usage)")
            }
        } else {
            eal = []
            app = arguments
        }
        if let misplaced = app.first(where: { Self.ealOptions.contains(Self.name($0)) }) {
            let place = eal.isEmpty && !arguments.contains("--")
                ? "without '--', every argument is bmad's" : "it is given after '--', where bmad's options go"
            throw .message("'\(Self.name(misplaced))' is an EAL (DPDK) option and \(place); put EAL options first: \(Self.usage)")
        }
    }

    /// `eal` with bmad's defaults where the operator gave none.
    func ealWithDefaults(configPath: String) -> [String] {
        let names = Set(eal.map(Self.name))
        var defaults: [String] = []
        if !names.contains("--file-prefix") { defaults += ["--file-prefix", Self.filePrefix(configPath: configPath)] }
        if !names.contains("--log-level") { defaults.append(Self.defaultLogLevel) }
        return defaults + eal
    }

    /// `/etc/bma/bmad.yaml` → `bmad`, `/etc/bma/bmad-a.yaml` → `bmad-a` (what the units pass).
    static func filePrefix(configPath: String) -> String {
        var base = Substring(configPath.split(separator: "/").last ?? "bmad")
        for ext in [".yaml", ".yml"] where base.hasSuffix(ext) { base = base.dropLast(ext.count) }
        let safe = String(base.map { $0.isASCII && ($0.isLetter || $0.isNumber) || $0 == "-" || $0 == "_" ? $0 : "_" })
        return safe.isEmpty ? "bmad" : safe
    }
}
