import ArgumentParser
import Control
import BMAContract
import Foundation

struct TopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "Live per-VM rates, refreshed every --interval seconds.",
        discussion: """
            Rates come from successive 'stats' calls: packets/s from the VMs' outgoing \
            counters, anomalous/s, mirrored/s, mirror drops/s and the three reasons that grew \
            most. The first refresh shows averages since bmad started. On a terminal the screen \
            is redrawn; otherwise one block is printed per refresh (with --json: one JSON \
            object per line). Ctrl-C quits.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Seconds between refreshes.", valueName: "seconds"))
    var interval: Double = 1

    @Option(help: ArgumentHelp("Stop after this many refreshes (default: until Ctrl-C).", valueName: "n"))
    var count: Int?

    func validate() throws {
        guard interval.isFinite, interval >= 0.05 else { throw ValidationError("--interval must be at least 0.05 seconds") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        // Ctrl-C ends the view with success; nothing needs cleaning up.
        signal(SIGINT) { _ in
            _ = write(STDOUT_FILENO, "\n", 1)
            _exit(0)
        }
        let session = global.session()
        let redraw = Output.stdoutIsTerminal && !global.json
        var previous: TopSample?
        var shown = 0
        while true {
            let sample = TopSample(try session.call(StatsRequest()), at: TopSample.now())
            let rates = TopRates(sample, previous: previous)
            if global.json {
                Output.line(rates.json.encodedString())
            } else {
                if redraw { print("\u{1B}[H\u{1B}[2J", terminator: "") } else if shown > 0 { Output.line("") }
                Output.lines(rates.lines(interval: interval, interactive: redraw))
            }
            Output.flush()
            shown += 1
            if let count, shown >= count { return }
            previous = sample
            TopSample.sleep(interval)
        }
    }
}

/// One `stats` result and when it was read.
struct TopSample {
    var stats: JSONValue
    var wall: Double

    init(_ stats: JSONValue, at wall: Double) {
        self.stats = stats
        self.wall = wall
    }

    var uptime: Double? { Field.number(stats["uptime_s"]) }
    var vms: [[String: JSONValue]] { Field.objects(stats["vms"]) ?? [] }

    static func now() -> Double { SystemClock.monotonicSeconds() }

    static func sleep(_ seconds: Double) { Thread.sleep(forTimeInterval: seconds) }
}

/// Rates between two samples (or since start for the first one).
struct TopRates {
    struct VM {
        var name: String
        var id: JSONValue?
        var packets: Double?
        var anomalous: Double?
        var mirrored: Double?
        var drops: Double?
        var reasons: [(String, Double)]
    }

    /// Seconds the rates cover; nil when unknown (no uptime in the first sample).
    var seconds: Double?
    var sinceStart: Bool
    var uptime: Double?
    var rxPackets: Double?
    var txPackets: Double?
    var drops: Double?
    var mirrorSent: Double?
    var mirrorBytes: Double?
    var vms: [VM] = []

    init(_ sample: TopSample, previous: TopSample?) {
        uptime = sample.uptime
        var base = previous
        // bmad restarted between the samples: start over.
        if let now = sample.uptime, let before = previous?.uptime, now < before { base = nil }
        if let base {
            sinceStart = false
            if let now = sample.uptime, let before = base.uptime, now > before {
                seconds = now - before
            } else {
                seconds = max(sample.wall - base.wall, 1e-3)
            }
        } else {
            sinceStart = true
            seconds = sample.uptime.flatMap { $0 > 0 ? $0 : nil }
        }
        let dt = seconds
        let old = base?.stats
        func rate(_ now: Double?, _ before: Double?) -> Double? {
            guard let now, let dt else { return nil }
            return max(0, now - (before ?? 0)) / dt
        }
        func portSum(_ s: JSONValue?, _ key: String) -> Double? {
            guard let ports = Field.objects(s?["ports"]) else { return nil }
            return ports.compactMap { Field.number($0[key]) }.reduce(0, +)
        }
        func dropSum(_ s: JSONValue?) -> Double? {
            guard let d = s?["drops"]?.objectValue else { return nil }
            return d.values.compactMap { Field.number($0) }.reduce(0, +)
        }
        rxPackets = rate(portSum(sample.stats, "rx_packets"), portSum(old, "rx_packets"))
        txPackets = rate(portSum(sample.stats, "tx_packets"), portSum(old, "tx_packets"))
        drops = rate(dropSum(sample.stats), dropSum(old))
        mirrorSent = rate(Field.number(sample.stats["mirror"]?["sent"]), Field.number(old?["mirror"]?["sent"]))
        mirrorBytes = rate(Field.number(sample.stats["mirror"]?["sent_bytes"]), Field.number(old?["mirror"]?["sent_bytes"]))

        let oldVMs = base?.vms ?? []
        for vm in sample.vms {
            let before = oldVMs.first { o in
                if let id = vm["id"], !id.isNull { return o["id"] == id }
                return o["name"] == vm["name"]
            }
            var reasons: [(String, Double)] = []
            if let now = vm["reasons"]?.objectValue, let dt {
                let then = before?["reasons"]?.objectValue ?? [:]
                for (name, v) in now {
                    let delta = (Field.number(v) ?? 0) - (Field.number(then[name]) ?? 0)
                    if delta > 0 { reasons.append((name, delta / dt)) }
                }
                reasons.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            }
            vms.append(VM(
                name: Field.text(vm["name"]), id: vm["id"],
                packets: rate(Field.number(vm["outgoing"]), before.flatMap { Field.number($0["outgoing"]) }),
                anomalous: rate(Field.number(vm["anomalous"]), before.flatMap { Field.number($0["anomalous"]) }),
                mirrored: rate(Field.number(vm["mirrored"]), before.flatMap { Field.number($0["mirrored"]) }),
                drops: rate(StatsView.vmDrops(vm), before.flatMap(StatsView.vmDrops)),
                reasons: Array(reasons.prefix(3))))
        }
        vms.sort { ($0.packets ?? -1) != ($1.packets ?? -1) ? ($0.packets ?? -1) > ($1.packets ?? -1) : $0.name < $1.name }
    }

    func lines(interval: Double, interactive: Bool) -> [String] {
        func r(_ v: Double?) -> String { v.map(Units.rate) ?? "-" }
        var head = "bmactl top: uptime \(uptime.map(Units.duration) ?? "?"), \(vms.count) VM\(vms.count == 1 ? "" : "s"), "
        if sinceStart {
            head += "averages since start"
        } else {
            head += "rates over \(Units.format(seconds ?? interval, decimals: 1)) s"
        }
        if interactive { head += " (Ctrl-C quits)" }
        var out = [head]
        var ports = "ports rx \(r(rxPackets)), tx \(r(txPackets)); drops \(r(drops)); mirror \(r(mirrorSent))"
        if let mirrorBytes { ports += " (\(Units.byteRate(mirrorBytes)))" }
        out.append(ports)
        out.append("")
        if vms.isEmpty { return out + ["no VMs"] }
        var t = Table([("VM", .left), ("ID", .right), ("PKTS/S", .right), ("ANOM/S", .right), ("MIRR/S", .right),
                       ("DROPS/S", .right), ("TOP REASONS", .left)])
        for vm in vms {
            let reasons = vm.reasons.isEmpty ? "-" : vm.reasons.map { "\($0.0) \(Units.rate($0.1))" }.joined(separator: ", ")
            t.add([vm.name, Field.text(vm.id), r(vm.packets), r(vm.anomalous), r(vm.mirrored), r(vm.drops), reasons])
        }
        return out + t.lines()
    }

    /// One line per refresh for `top --json`.
    var json: JSONValue {
        func n(_ v: Double?) -> JSONValue { v.map { .number($0) } ?? .null }
        return .object([
            "uptime_s": n(uptime), "seconds": n(seconds), "since_start": .bool(sinceStart),
            "rx_packets_per_second": n(rxPackets), "tx_packets_per_second": n(txPackets),
            "drops_per_second": n(drops), "mirror_packets_per_second": n(mirrorSent),
            "mirror_bytes_per_second": n(mirrorBytes),
            "vms": .array(vms.map { vm in
                .object([
                    "name": .string(vm.name), "id": vm.id ?? .null, "packets_per_second": n(vm.packets),
                    "anomalous_per_second": n(vm.anomalous), "mirrored_per_second": n(vm.mirrored),
                    "drops_per_second": n(vm.drops),
                    "top_reasons": .array(vm.reasons.map { .object(["reason": .string($0.0), "per_second": .number($0.1)]) }),
                ])
            }),
        ])
    }
}
