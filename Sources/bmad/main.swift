import Control
import Dataplane
import Foundation

/// bmad: parse arguments, hand EAL its part, bring the dataplane up, watch it from the main lcore,
/// stop cleanly on SIGINT/SIGTERM (or when idle), write the summary.

let version = "0.1.0"

func fail(_ message: String, code: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("bmad: \(message)\n".utf8))
    exit(code)
}

var argv = CommandLine.arguments
let rest = Array(argv.dropFirst())
if rest.first == "--help" || rest.first == "-h" || rest.first == "help" {
    print(Options.help)
    exit(0)
}
if rest.first == "--version" {
    print("bmad \(version)")
    exit(0)
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

func log(_ message: String) {
    if !options.quiet { print(message); fflush(nil) }
}

Signals.install()
do {
    try EAL.initialize([argv[0]] + eal)
} catch {
    fail(error.description)
}

var setup = DataplaneSetup(
    vms: config.vms.map { .init(name: $0.name, id: $0.id, devargs: $0.devargs, mac: $0.mac) },
    uplinkDevargs: config.uplink, mirrorDevargs: config.mirror)
setup.workerLcores = config.workers
setup.mbufs = config.mempool.mbufs
setup.mbufCache = config.mempool.cache
setup.mbufDataRoom = config.mempool.dataRoom
setup.rxDescriptors = config.queues.rxDescriptors
setup.txDescriptors = config.queues.txDescriptors

let dataplane: Dataplane
do {
    dataplane = try Dataplane(setup)
} catch {
    EAL.cleanup()
    fail(error.description)
}
for p in dataplane.ports {
    let vm = p.vmId.map { " id \($0)" } ?? ""
    log("bmad: \(p.role.name) \(p.name)\(vm): port \(p.portId) (\(p.driver)) \(p.devargs), \(p.rxQueues) rx / \(p.txQueues) tx queues\(p.rxTimestamp ? ", rx timestamps" : "")")
}
do {
    try dataplane.launch()
} catch {
    dataplane.shutdown()
    EAL.cleanup()
    fail(error.description)
}
log("bmad: forwarding on worker lcores \(dataplane.workerLcores.map(String.init).joined(separator: ","))")

// Main lcore: housekeeping every 10 ms; the workers never wait for it.
var lastRx = dataplane.vmRxPackets()
var lastActivity = dataplane.uptime
var lastLine = dataplane.uptime
var previous: StatsSnapshot?
while !Signals.stopRequested {
    usleep(10_000)
    for e in dataplane.pollLinks() { log("bmad: \(e.port): link \(e.up ? "up" : "down")") }
    if Signals.takeUsr1() { print(StatsReport.table(dataplane.snapshot())); fflush(nil) }
    let now = dataplane.uptime
    if let every = options.statsInterval, now - lastLine >= every {
        let s = dataplane.snapshot()
        log(StatsReport.line(s, previous: previous))
        previous = s
        lastLine = now
    }
    if let idle = options.exitWhenIdleMs {
        let rx = dataplane.vmRxPackets()
        if rx != lastRx {
            lastRx = rx
            lastActivity = now
        } else if (now - lastActivity) * 1000 >= Double(idle) {
            log("bmad: every VM port idle for \(idle) ms, stopping")
            break
        }
    }
}

dataplane.stopWorkers()
let summary = dataplane.snapshot()
dataplane.shutdown()
if let path = options.summaryPath {
    do {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(summary).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        FileHandle.standardError.write(Data("bmad: cannot write summary \(path): \(error.localizedDescription)\n".utf8))
    }
}
if !options.quiet { print(StatsReport.table(summary)) }
EAL.cleanup()
log("bmad: stopped")
