import Control
import Dataplane
import Foundation

/// bmad: the per-host dataplane (`bmad [EAL options] -- --config PATH ...`) and its offline
/// replay (`bmad replay ...`). Thin: arguments, wiring, exit codes.

let version = "0.2.0"

func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("bmad: \(message)\n".utf8))
    exit(code)
}

let rest = Array(CommandLine.arguments.dropFirst())
switch rest.first {
case "--help", "-h", "help":
    print(Options.help)
    exit(0)
case "--version":
    print("bmad \(version)")
    exit(0)
case "replay":
    Replay.main(Array(rest.dropFirst()))
default:
    break
}

// EAL gets what precedes "--"; bmad what follows. Without "--", every argument is bmad's.
let eal: [String]
let app: [String]
if let sep = rest.firstIndex(of: "--") {
    eal = Array(rest[..<sep])
    app = Array(rest[(sep + 1)...])
} else {
    eal = []
    app = rest
}

let options: Options
do {
    options = try Options.parse(app)
} catch {
    fail(error.description, code: 2)
}

let config: BmadConfig
do {
    config = try ConfigLoader.load(path: options.configPath!)
} catch {
    fail("\(options.configPath!): \(error.description)", code: 2)
}

Signals.install()
do {
    try EAL.initialize([CommandLine.arguments[0]] + eal)
} catch {
    fail(error.description)
}

let runner = Runner(quiet: options.quiet, statsInterval: options.statsInterval,
                    exitWhenIdleMs: options.exitWhenIdleMs, summaryPath: options.summaryPath)
do {
    let control = ControlPlane(config: config, log: runner.log)
    let summary = try runner.run(SetupBuilder.setup(config), control: control)
    if !options.quiet { runner.log(StatsReport.table(summary)) }
} catch {
    EAL.cleanup()
    fail(error.description)
}
EAL.cleanup()
runner.log("bmad: stopped")
