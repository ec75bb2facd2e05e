import Control
import Dataplane
import Foundation

/// bmad: the per-host dataplane (`bmad [EAL options] -- --config PATH ...`) and its offline
/// replay (`bmad replay ...`). Thin: arguments, wiring, exit codes.

let version = "0.2.0"

func fail(_ message: String, code: Int32 = ToolExitCode.failure) -> Never {
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
let split: CommandLineSplit
let options: Options
do {
    split = try CommandLineSplit(rest)
    options = try Options.parse(split.app)
} catch {
    fail(error.description, code: ToolExitCode.usage)
}

let config: BmadConfig
do {
    config = try ConfigLoader.load(path: options.configPath!)
} catch {
    fail("\(options.configPath!): \(error.description)", code: ToolExitCode.usage)
}

// Before EAL: a second bmad on this configuration must not touch the first one's ports.
let lock: InstanceLock
do {
    lock = try InstanceLock(path: InstanceLock.path(forSocket: config.control.socket))
} catch {
    fail(error.description)
}

Signals.install()
do {
    try EAL.initialize([CommandLine.arguments[0]] + split.ealWithDefaults(configPath: options.configPath!))
} catch {
    fail(error.description)
}

let runner = Runner(quiet: options.quiet, statsInterval: options.statsInterval,
                    exitWhenIdleMs: options.exitWhenIdleMs, summaryPath: options.summaryPath)
do {
    let control = ControlPlane(config: config, log: runner.log)
    var setup = SetupBuilder.setup(config)
    setup.profileStages = options.profileStages
    let summary = try runner.run(setup, control: control)
    if !options.quiet { runner.log(StatsReport.table(summary)) }
} catch {
    EAL.cleanup()
    fail(error.description)
}
EAL.cleanup()
runner.log("bmad: stopped")
