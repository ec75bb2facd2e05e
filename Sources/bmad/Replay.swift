import BMAContract
import PacketCapture
import Control
import Dataplane
import Foundation

/// `bmad replay`: the dataplane over net_pcap devices, one per VM, with capture time as the
/// clock; exits when every input is consumed. How BMA's detection is evaluated offline.
enum Replay {
    static let help = """
    usage: bmad replay --vm NAME=PATH[@MAC] [--vm NAME=PATH[@MAC] ...] --mirror-out PATH
                       [--forward-out PATH] [--config PATH] [--sensitivity S] [--learning SECONDS]
                       [--summary-json PATH] [--decisions PATH] [--quiet]

    Runs the dataplane over the captures: PATH holds the traffic seen on that VM's vNIC. Frames
    from the VM's MAC (after '@', else the most frequent source MAC of the capture) are its
    outgoing traffic: baseline, score, mirror decision, then the uplink. Other frames enter as
    traffic toward the VM. Capture timestamps are the clock, so two replays decide the same.

      --vm NAME=PATH[@MAC]   a VM and its capture (pcap or pcapng, Ethernet); repeat per VM
      --mirror-out PATH      pcap of every mirrored frame as it was (no encapsulation) with its
                             capture time, in mirror order, pre-trigger and sticky copies included
      --forward-out PATH     pcap of what reached the uplink (default: discarded)
      --config PATH          bmad YAML; its detection: and mirror budget settings apply (its ports
                             are ignored)
      --sensitivity S        overrides detection.sensitivity (default 1)
      --learning SECONDS     learning period from each VM's first packet (default 86400)
      --summary-json PATH    per-VM packets seen, forwarded, mirrored and mirrored per reason
      --decisions PATH       one JSON line per mirrored packet, in mirror order: ts_ns, vm, kind
                             (trigger, anomalous, sticky, pre-trigger), 5-tuple, housekeeping
                             class, reasons, each reason's score, score and the VM's threshold;
                             dst_name, the DNS name the destination was known by (as answered in
                             the capture, over UDP or TCP)
      --quiet                print only errors
    """

    struct VMInput {
        var name: String
        var path: String
        var mac: UInt64?
    }

    static func main(_ args: [String]) -> Never {
        if args.contains("--help") || args.contains("-h") {
            print(help)
            exit(0)
        }
        var vms: [VMInput] = []
        var mirrorOut: String?
        var forwardOut: String?
        var configPath: String?
        var sensitivity: Double?
        var learning: Double?
        var summaryPath: String?
        var decisionsPath: String?
        var quiet = false
        var i = 0
        func value(_ flag: String) -> String {
            i += 1
            guard i < args.count else { fail("replay: \(flag) needs a value", code: 2) }
            return args[i]
        }
        while i < args.count {
            let a = args[i]
            switch a {
            case "--vm": vms.append(parseVM(value(a)))
            case "--mirror-out": mirrorOut = value(a)
            case "--forward-out": forwardOut = value(a)
            case "--config": configPath = value(a)
            case "--sensitivity":
                let v = value(a)
                guard let s = Double(v), s >= 0, s.isFinite else { fail("replay: --sensitivity: '\(v)' is not a number >= 0", code: 2) }
                sensitivity = s
            case "--learning":
                let v = value(a)
                guard let s = Double(v), s >= 0, s.isFinite else { fail("replay: --learning: '\(v)' is not a number of seconds >= 0", code: 2) }
                learning = s
            case "--summary-json": summaryPath = value(a)
            case "--decisions": decisionsPath = value(a)
            case "--quiet": quiet = true
            default: fail("replay: unknown option '\(a)' (see bmad replay --help)", code: 2)
            }
            i += 1
        }
        guard !vms.isEmpty else { fail("replay: at least one --vm NAME=PATH is required", code: 2) }
        guard let mirrorOut else { fail("replay: --mirror-out PATH is required", code: 2) }
        if Set(vms.map(\.name)).count != vms.count { fail("replay: VM names must be unique", code: 2) }
        for p in [mirrorOut, forwardOut].compactMap({ $0 }) + vms.map(\.path) where p.contains(",") {
            fail("replay: '\(p)': paths with commas cannot be handed to DPDK devargs", code: 2)
        }

        var config = BmadConfig()
        if let configPath {
            do { config = try ConfigLoader.load(path: configPath, requirePorts: false) } catch {
                fail("\(configPath): \(error.description)", code: 2)
            }
        }
        if let sensitivity { config.detection.sensitivity = sensitivity }
        if let learning { config.detection.learningSeconds = learning }

        var setupVMs: [DataplaneSetup.VM] = []
        var expected: [UInt64] = []
        var inputs: [[PcapRecord]] = []
        for (n, vm) in vms.enumerated() {
            let records: [PcapRecord]
            do {
                records = try CaptureFileRecords.read(path: vm.path)
            } catch {
                fail("replay: \(vm.path): \(error)", code: 2)
            }
            guard let mac = vm.mac ?? CaptureSummary(records: records).mostFrequentSourceMAC?.rawValue else {
                fail("replay: \(vm.path): no frames to find the VM's MAC in; give it as NAME=PATH@MAC", code: 2)
            }
            var s = DataplaneSetup.VM(name: vm.name, id: UInt32(n + 1), devargs: "net_pcap\(n),rx_pcap=\(vm.path)", mac: mac)
            s.replayIncoming = true
            s.captureTimes = records.map(\.timestampNanoseconds)
            setupVMs.append(s)
            expected.append(UInt64(records.count))
            inputs.append(records)
        }
        let v = vms.count
        let uplink = forwardOut.map { "net_pcap\(v),tx_pcap=\($0)" } ?? "net_null\(v),no-rx=1"
        var setup = DataplaneSetup(vms: setupVMs, uplinkDevargs: uplink, mirrorDevargs: "net_pcap\(v + 1),tx_pcap=\(mirrorOut)")
        setup.detection = SetupBuilder.detection(config.detection)
        setup.mirror = SetupBuilder.mirror(config.mirror)
        setup.mirror.encapsulation = .none
        setup.mirror.snaplen = 0
        // Every frame must be read: net_pcap loses a frame when the pool is empty.
        setup.mbufs = max(config.mempool.mbufs ?? setup.mbufs, 16383)

        var decisions: ReplayDecisions?
        if let decisionsPath {
            setup.decisionLogCapacity = 1 << 16
            let names = DNSFrameNames.names(inFrames: inputs.flatMap { $0.map(\.data) })
            do { decisions = try ReplayDecisions(path: decisionsPath, vmNames: vms.map(\.name), dnsNames: names) } catch {
                fail("replay: --decisions \(decisionsPath): \(error.localizedDescription)", code: 2)
            }
        }

        Signals.install()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let eal = [CommandLine.arguments[0], "--no-pci", "--no-huge", "-m", "1024", "--no-shconf",
                   "--log-level", "lib.eal:error"]
            + (cores >= 2 ? ["-l", "0,1"] : ["--lcores", "0@0,1@0"])
        do { try EAL.initialize(eal) } catch { fail(error.description) }

        let runner = Runner(quiet: quiet, summaryPath: summaryPath)
        var stalledSince = Date()
        var logs: [DecisionLog] = [] // kept past the dataplane: the last burst's records
        var last: [UInt64] = []
        let summary: StatsSnapshot
        do {
            summary = try runner.run(setup) { dp in
                if decisions != nil {
                    if logs.isEmpty { logs = dp.decisionLogs }
                    decisions?.drain(logs)
                }
                let rx = dp.vmRxPackets()
                if zip(rx, expected).allSatisfy({ $0 >= $1 }) { return true }
                if rx != last {
                    last = rx
                    stalledSince = Date()
                } else if Date().timeIntervalSince(stalledSince) > 10 {
                    FileHandle.standardError.write(Data("bmad: replay stalled at \(rx) of \(expected) frames\n".utf8))
                    return true
                }
                return false
            }
        } catch {
            EAL.cleanup()
            fail(error.description)
        }
        EAL.cleanup()
        if let decisions {
            decisions.drain(logs)
            decisions.close()
            let lost = logs.reduce(0) { $0 + $1.droppedRecords }
            if lost > 0 { fail("replay: --decisions: \(lost) records lost") }
        }
        for path in [mirrorOut, forwardOut].compactMap({ $0 }) {
            do { try ReplayTimestamps.restamp(path: path, inputs: inputs) } catch {
                FileHandle.standardError.write(Data("bmad: \(path): cannot restore capture times: \(error)\n".utf8))
            }
        }
        if !quiet {
            for vm in summary.vms {
                let reasons = vm.reasons.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                print("bmad: \(vm.name) (\(vm.mac ?? "?")): \(vm.seen) seen, \(vm.outgoing) outgoing, \(vm.forwarded) forwarded, \(vm.mirrored) mirrored (\(vm.pre_trigger) pre-trigger, \(vm.sticky) sticky) \(reasons.joined(separator: " "))")
            }
        }
        // A frame the device delivered as an inconsistent mbuf chain was read, dropped and counted.
        let invalid = Dictionary(summary.ports.map { ($0.name, $0.rx_invalid_chains) }, uniquingKeysWith: +)
        for (name, n) in invalid.sorted(by: { $0.key < $1.key }) where n > 0 && summary.vms.contains(where: { $0.name == name }) {
            FileHandle.standardError.write(Data("bmad: \(name): \(n) frames dropped: the device delivered them as inconsistent mbuf chains (drop reason invalid-chain)\n".utf8))
        }
        let complete = zip(summary.vms, expected).allSatisfy { $0.seen &+ (invalid[$0.name] ?? 0) == $1 }
        exit(complete ? 0 : 1)
    }

    static func parseVM(_ text: String) -> VMInput {
        guard let eq = text.firstIndex(of: "=") else { fail("replay: --vm '\(text)': expected NAME=PATH[@MAC]", code: 2) }
        let name = String(text[..<eq])
        var path = String(text[text.index(after: eq)...])
        var mac: UInt64?
        if let at = path.lastIndex(of: "@"), let m = MACText.parse(String(path[path.index(after: at)...])) {
            mac = m
            path = String(path[..<at])
        }
        guard !name.isEmpty, !path.isEmpty else { fail("replay: --vm '\(text)': expected NAME=PATH[@MAC]", code: 2) }
        return VMInput(name: name, path: path, mac: mac)
    }
}
