import CDPDK
import Dataplane
import Foundation

/// Brings the dataplane up, watches it from the main lcore until a stop (signal, idle, or the
/// caller's `done`), then stops it and writes the summary.
struct Runner {
    var quiet = false
    var statsInterval: Double?
    var exitWhenIdleMs: UInt64?
    var summaryPath: String?

    /// Writes straight to the descriptor: stdio's buffers (and their locks, which a worker
    /// blocked in libpcap may hold) stay out of the main loop.
    func log(_ message: String) {
        if !quiet { FileHandle.standardOutput.write(Data((message + "\n").utf8)) }
    }

    /// Returns the final counters. `done` is asked every 10 ms. With `control`, its listeners
    /// run in the main loop and it restores and saves state.
    func run(_ setup: DataplaneSetup, control: ControlPlane? = nil,
             done: (Dataplane) -> Bool = { _ in false }) throws(DataplaneError) -> StatsSnapshot {
        let dataplane = try Dataplane(setup)
        if let control {
            do { try control.prepare(dataplane) } catch {
                dataplane.shutdown()
                throw (error as? DataplaneError) ?? DataplaneError("\(error)")
            }
        }
        for p in dataplane.ports {
            let vm = p.vmId.map { " id \($0)" } ?? ""
            log("bmad: \(p.role.name) \(p.name)\(vm): port \(p.portId) (\(p.driver)) \(p.devargs), \(p.rxQueues) rx / \(p.txQueues) tx queues")
        }
        do {
            try dataplane.launch()
        } catch {
            dataplane.shutdown()
            throw error
        }
        for w in dataplane.mirrorPathWarnings { log("bmad: warning: \(w)") }
        log("bmad: forwarding on worker lcores \(dataplane.workerLcores.map(String.init).joined(separator: ","))")

        // Housekeeping every 10 ms; the workers never wait for it.
        var lastRx = dataplane.vmRxPackets()
        var lastActivity = dataplane.uptime
        var lastLine = dataplane.uptime
        var previous: StatsSnapshot?
        while bma_stop_requested() == 0 {
            if let control { control.step(dataplane) } else { usleep(10_000) }
            for e in dataplane.pollLinks() { log("bmad: \(e.port): link \(e.up ? "up" : "down")") }
            if bma_take_usr1() != 0 {
                FileHandle.standardOutput.write(Data((StatsReport.table(dataplane.snapshot()) + "\n").utf8))
            }
            let now = dataplane.uptime
            if let every = statsInterval, now - lastLine >= every {
                let s = dataplane.snapshot()
                log(StatsReport.line(s, previous: previous))
                previous = s
                lastLine = now
            }
            if done(dataplane) { break }
            if let idle = exitWhenIdleMs {
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
        control?.finish(dataplane)
        let summary = dataplane.snapshot(baselines: true)
        dataplane.shutdown()
        if let path = summaryPath {
            do {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                try enc.encode(summary).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                FileHandle.standardError.write(Data("bmad: cannot write summary \(path): \(error.localizedDescription)\n".utf8))
            }
        }
        return summary
    }
}
