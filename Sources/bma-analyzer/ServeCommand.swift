import Analysis
import ArgumentParser
import Console
import ControlProtocol
import Foundation
import Synchronization

/// Set by the signal handlers only.
let stopRequested = Atomic<Bool>(false)

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Receive mirrored traffic, store it, inspect it and raise alerts until stopped.")

    @Option(help: ArgumentHelp("YAML configuration whose keys are these options (config/analyzer.example.yaml); options given here override it. Default: /etc/bma/analyzer.yaml when it exists.", valueName: "path"))
    var config: String?

    @OptionGroup var store: StoreOptions

    @Option(help: "Address to listen on for Geneve and VXLAN (and the GRE socket's address when IPv4). The default takes only this host's traffic: give the collector address bmad sends to.")
    var listen = "127.0.0.1"

    @Option(name: .customLong("sensor"),
            help: ArgumentHelp("A host allowed to send mirror traffic, by name: NAME=ADDRESS[/PREFIX][,...] (repeat for more). Traffic from other addresses is dropped and counted (unknownSensor); alerts name the sensor.",
                               valueName: "name=cidr"))
    var sensors: [String] = []

    @Option(help: ArgumentHelp("Mirror keys: lines 'SENSOR KEY_ID HEX32' (one or two keys per sensor, mode 600/640). Copies from a sensor with keys are stored only when their MAC verifies and their sequence number is new.",
                               valueName: "file"))
    var sensorKeys: String?

    @Flag(inversion: .prefixedNo,
          help: "Accept mirror traffic from this host's loopback addresses (127.0.0.0/8, ::1) as sensor 'local'.")
    var loopbackSensor = true

    @Option(help: "Geneve UDP port (0 = off).")
    var genevePort = 6081

    @Option(help: "VXLAN UDP port (0 = off).")
    var vxlanPort = 4789

    @Flag(help: "Also receive ERSPAN type II over GRE (a raw socket; needs root).")
    var erspan = false

    @Option(help: "Control socket for `bma-analyzer status`.")
    var socket = "/run/bma-analyzer/analyzer.sock"

    @Option(help: ArgumentHelp("Response rules as JSON: the configuration file's `response:` section (socket, dry_run, protected_vms, rules; docs/response.md).", valueName: "json"))
    var response: String?

    @Option(help: "Print a status line every SECONDS (0 = never).")
    var statusInterval: Double = 10

    @Option(help: ArgumentHelp("Serve Prometheus metrics on http://ADDRESS:PORT/metrics (ADDRESS an IPv4 address or localhost); off by default.", valueName: "address:port"))
    var metricsListen: String?

    @OptionGroup var console: ConsoleOptions

    func run() throws {
        // First, so that a bad address stops the node before it touches the store.
        let metrics = try metricsListen.map { listen throws(AnalyzerFailure) in
            do { return try MetricsServer(listen: listen) } catch { throw .usage("--metrics-listen: \(error)") }
        }
        let consoleSettings = try console.validated()
        let registry: SensorRegistry
        do {
            registry = try SensorRegistry(try sensors.map { text throws(SensorRegistryError) in try SensorRegistry.parse(text) },
                                          loopback: loopbackSensor)
        } catch {
            throw ValidationError("--sensor: \(error.message)")
        }
        var authenticator: MirrorAuthenticator?
        if let sensorKeys {
            do {
                let keys = try MirrorKeyFile.load(path: sensorKeys)
                for name in keys.keys where !registry.sensors.contains(where: { $0.name == name }) {
                    throw SensorRegistryError(message: "\(sensorKeys): '\(name)' is not a sensor (--sensor)")
                }
                authenticator = try MirrorAuthenticator(keys: keys)
            } catch {
                throw ValidationError("--sensor-keys: \(error)")
            }
        }
        var responder: ResponseEngine?
        if let response {
            responder = ResponseEngine(settings: try ResponseSettings.parse(response), vmNames: try store.configuration().vmNames,
                                       storeDirectory: store.directory)
        }
        var onAlert: (@Sendable (Alert) -> Void)?
        if let engine = responder { onAlert = { engine.offer($0) } }
        let node = try store.openNode(onAlert: onAlert)
        var listenerConfig = MirrorListener.Configuration()
        listenerConfig.host = listen
        listenerConfig.sensors = registry
        listenerConfig.authenticator = authenticator
        listenerConfig.genevePort = genevePort == 0 ? nil : genevePort
        listenerConfig.vxlanPort = vxlanPort == 0 ? nil : vxlanPort
        let listener = MirrorListener(configuration: listenerConfig) { node.submit($0) }
        var gre: GRECapture?
        try? FileManager.default.createDirectory(atPath: (socket as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let server = try ControlServer(path: socket)
        // Before anything starts: a SIGINT right after the ready line must stop cleanly.
        installSignalHandlers()
        node.start()
        do {
            try listener.start()
            if erspan {
                let bind = IPv4Address(listen).flatMap { $0.rawValue == 0 ? nil : listen }
                let g = GRECapture(configuration: { var c = GRECapture.Configuration(bindAddress: bind, sensors: registry); c.authenticator = authenticator; return c }()) { node.submit($0) }
                try g.start()
                gre = g
            }
        } catch {
            node.stop()
            server.close()
            throw error
        }
        var consoleServer: ConsoleServer?
        if let consoleSettings {
            do { consoleServer = try ConsoleOptions.start(consoleSettings, node: node, storeDirectory: store.directory) } catch {
                listener.stop()
                gre?.stop()
                node.stop()
                server.close()
                throw error
            }
        }
        let b = listener.binding
        log("bma-analyzer: listening on \(listen): geneve \(b?.genevePort.map(String.init) ?? "off"), vxlan \(b?.vxlanPort.map(String.init) ?? "off")\(erspan ? ", erspan (gre)" : ""); store \(store.directory); sensors \(registry.sensors.map { "\($0.name) (\($0.networks.map(\.description).joined(separator: ", ")))" }.joined(separator: ", "))\(authenticator.map { "; authenticated: \($0.sensorsWithKeys.joined(separator: ", "))" } ?? "")")

        if let responder { log("bma-analyzer: \(responder.summary)") }
        if let metricsListen { log("bma-analyzer: Prometheus metrics on http://\(metricsListen)/metrics") }
        let started = Date()
        var last = Date()
        while !stopRequested.load(ordering: .relaxed) {
            server.step(timeoutMs: 100) { request, _ in
                switch request.method {
                case AnalyzerStatusRequest.methodName:
                    return AnalyzerStatusRequest.serve(request) { _ in node.status(ingest: ingest(listener, gre)) }
                case AnalyzerAlertsRequest.methodName:
                    return AnalyzerAlertsRequest.serve(request) { r in node.store.alerts(vm: r.vm, since: nil) }
                default:
                    return .failure(ControlError(.methodNotFound, "unknown method '\(request.method)' (status, alerts)"))
                }
            }
            metrics?.step(now: Date().timeIntervalSince(started)) {
                AnalyzerMetrics.render(node.status(ingest: ingest(listener, gre)), alerts: node.sink.stats)
            }
            if statusInterval > 0, Date().timeIntervalSince(last) >= statusInterval {
                log(StatusText.line(node.status(ingest: ingest(listener, gre))))
                last = Date()
            }
        }
        log("bma-analyzer: stopping")
        consoleServer?.stop()
        listener.stop()
        gre?.stop()
        node.stop()
        responder?.drain()
        server.close()
        log(StatusText.line(node.status(ingest: ingest(listener, gre))))
    }

    private func ingest(_ l: MirrorListener, _ g: GRECapture?) -> MirrorIngestStatistics {
        var s = l.statistics
        if let g {
            let e = g.statistics
            s.received += e.received
            s.receivedBytes += e.receivedBytes
            s.decoded += e.decoded
            for (k, v) in e.dropped { s.dropped[k, default: 0] += v }
        }
        return s
    }
}

func log(_ message: String) {
    FileHandle.standardOutput.write(Data((message + "\n").utf8))
}

func installSignalHandlers() {
    let handler: @convention(c) (Int32) -> Void = { _ in stopRequested.store(true, ordering: .relaxed) }
    signal(SIGINT, handler)
    signal(SIGTERM, handler)
    signal(SIGPIPE, SIG_IGN)
}
