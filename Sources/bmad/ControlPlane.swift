import Control
import Dataplane
import Foundation

/// Everything bmad does off the packet path while it runs, stepped from the main lcore: the
/// control socket, Prometheus metrics, DPDK telemetry, policy snapshot reclamation, and saving
/// baselines. Nothing here blocks the workers.
final class ControlPlane {
    let config: BmadConfig
    let log: (String) -> Void
    private var server: ControlServer?
    private var metrics: MetricsServer?
    private var handler: ControlHandler?
    private var baselines: BaselineStore?
    private var lastTelemetry = 0.0
    private var lastSave = 0.0

    init(config: BmadConfig, log: @escaping (String) -> Void) {
        self.config = config
        self.log = log
    }

    /// Before the workers start: state, saved policies and baselines, the listeners.
    func prepare(_ dataplane: Dataplane) throws {
        var policyFile: PolicyFile?
        var settingsFile: SettingsFile?
        var actionFile: ActionFile?
        do {
            let store = try StateStore(directory: config.control.stateDirectory)
            policyFile = PolicyFile(store: store)
            settingsFile = SettingsFile(store: store)
            actionFile = ActionFile(store: store)
            baselines = BaselineStore(store: store)
        } catch {
            log("bmad: state directory \(config.control.stateDirectory) unusable, nothing will be saved: \(error)")
        }
        let handler = ControlHandler(dataplane: dataplane, config: config, policyFile: policyFile,
                                     settingsFile: settingsFile, baselines: baselines)
        handler.restorePolicies(log: log)
        let actions = ActionHandler(dataplane: dataplane, file: actionFile, log: log)
        actions.restore()
        handler.actions = actions
        baselines?.load(into: dataplane, log: log)
        handler.restoreSettings(log: log)
        self.handler = handler

        let dir = (config.control.socket as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        do {
            var limits = ControlServer.Limits()
            limits.maxRequestBytes = 1 << 20 // baseline documents are larger than ordinary requests
            server = try ControlServer(path: config.control.socket, group: config.control.group, limits: limits)
            log("bmad: control socket \(config.control.socket)")
        } catch {
            throw DataplaneError("control.socket: \(error)")
        }
        if let listen = config.metricsListen {
            do {
                metrics = try MetricsServer(listen: listen)
                log("bmad: Prometheus metrics on http://\(listen.hasPrefix(":") ? "127.0.0.1" + listen : listen)/metrics")
            } catch {
                throw DataplaneError("metrics.listen: \(error.description)")
            }
        }
        if !Telemetry.register() { log("bmad: DPDK telemetry commands not registered") }
    }

    /// One main-loop step: waits up to 10 ms for control requests.
    func step(_ dataplane: Dataplane) {
        if let server, let handler {
            server.step(timeoutMs: 10) { handler.handle($0, $1) }
            handler.actions?.expire()
        } else {
            usleep(10_000)
        }
        let now = dataplane.uptime
        metrics?.step(now: now) { dataplane.snapshot().prometheus() }
        if now - lastTelemetry >= 1 {
            Telemetry.publish(dataplane.snapshot())
            dataplane.reclaimPolicies()
            dataplane.reclaimActions()
            lastTelemetry = now
        }
        let every = config.control.saveSeconds
        if let baselines, every > 0, now - lastSave >= every {
            baselines.save(dataplane, log: log)
            lastSave = now
        }
    }

    /// After the workers stopped: the final baselines, then the listeners close.
    func finish(_ dataplane: Dataplane) {
        baselines?.save(dataplane, log: log)
        server?.close()
        server = nil
        metrics = nil
    }
}
