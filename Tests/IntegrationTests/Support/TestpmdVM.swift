import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A VM without QEMU: `dpdk-testpmd` with a virtio_user port (port 0) on bmad's vhost-user
/// socket and a net_pcap port (port 1) replaying a capture into it, in interactive mode with
/// commands written to its stdin.
///
///     dpdk-testpmd -l 0,1 --main-lcore 1 --file-prefix P --no-pci --single-file-segments -m 256 \
///       --vdev 'virtio_user0,path=SOCK,queues=1' --vdev 'net_pcap1,rx_pcap=CAPTURE' \
///       -- --no-mlockall --total-num-mbufs=4096 --no-flush-rx -i
///
/// `--main-lcore 1` puts its forwarding lcore on core 0, away from bmad's worker on lcore 1.
/// `--no-flush-rx` keeps testpmd from draining the capture at start. Forwarding starts only when
/// asked (after bmad reports the link up): `set fwd io retry`, a long tx retry, `start`.
final class TestpmdVM {
    struct Options {
        /// Replayed into the VM's virtio port (what the VM sends).
        var rxPcap: String
        /// Where what the VM receives is written, if anywhere.
        var txPcap: String? = nil
        /// Replay the capture forever (needs an mbuf per captured frame).
        var infiniteRx = false
        var mbufs = 4096
        var memoryMB = 256
        /// More virtio_user devargs (",mrg_rxbuf=1") and testpmd options.
        var virtioArgs = ""
        var testpmdArgs: [String] = []
    }

    /// testpmd's `Forward statistics for port N` block.
    struct ForwardStats: Equatable {
        var rxPackets: UInt64
        var rxDropped: UInt64
        var txPackets: UInt64
        var txDropped: UInt64
    }

    let name: String
    let prefix: String
    let child: ChildProcess

    init(name: String, socket: String, options: Options, in scratch: ScratchDirectory) throws {
        guard let testpmd = TestEnvironment.testpmd else { throw ScratchError(message: "dpdk-testpmd not found") }
        self.name = name
        prefix = DPDKRuntime.newPrefix(name)
        var pcap = "net_pcap1,rx_pcap=\(options.rxPcap)"
        if let tx = options.txPcap { pcap += ",tx_pcap=\(tx)" }
        if options.infiniteRx { pcap += ",infinite_rx=1" }
        let args = [
            "-l", "0,1", "--main-lcore", "1", "--file-prefix", prefix, "--no-pci", "--single-file-segments",
            "-m", "\(options.memoryMB)",
            "--vdev", "virtio_user0,path=\(socket),queues=1\(options.virtioArgs)", "--vdev", pcap,
            "--", "--no-mlockall", "--total-num-mbufs=\(options.mbufs)", "--no-flush-rx", "-i",
        ] + options.testpmdArgs
        child = try ChildProcess(name: name, executable: testpmd, arguments: args, directory: scratch.path, stdinPipe: true)
        let prefix = prefix
        child.afterExit.append { DPDKRuntime.removeFiles(prefix: prefix) }
    }

    var isRunning: Bool { child.isRunning }

    /// Starts io forwarding with retries (no frame is dropped for a full virtio ring).
    func startForwarding() throws {
        try child.send("set fwd io retry\nset burst tx delay 10 retry 100000\nstart\n")
    }

    /// `stop` then `quit`; returns the forward statistics per port.
    @discardableResult
    func stopAndQuit(timeout: TimeInterval = 20) throws -> [Int: ForwardStats] {
        try child.send("stop\nquit\n")
        do {
            try child.waitForExit(timeout: timeout)
        } catch {
            child.kill(signal: SIGKILL)
            throw error
        }
        return Self.forwardStatistics(child.stdout)
    }

    /// SIGKILL to the whole process group, as a crashing VM; waits until it is reaped.
    func crash() {
        child.kill(signal: SIGKILL)
    }

    /// Parses every `Forward statistics for port N` block (the last one of each port wins).
    static func forwardStatistics(_ output: String) -> [Int: ForwardStats] {
        var result: [Int: ForwardStats] = [:]
        let lines = output.split(separator: "\n")
        for (i, line) in lines.enumerated() {
            guard let r = line.range(of: "Forward statistics for port ") else { continue }
            guard let port = Int(line[r.upperBound...].prefix { $0.isNumber }), i + 2 < lines.count else { continue }
            func values(_ l: Substring) -> [String: UInt64] {
                var out: [String: UInt64] = [:]
                let w = l.split(separator: " ")
                for (j, word) in w.enumerated() where word.hasSuffix(":") && j + 1 < w.count {
                    if let v = UInt64(w[j + 1]) { out[String(word.dropLast())] = v }
                }
                return out
            }
            let rx = values(lines[i + 1]), tx = values(lines[i + 2])
            guard let rxp = rx["RX-packets"], let txp = tx["TX-packets"] else { continue }
            result[port] = ForwardStats(rxPackets: rxp, rxDropped: rx["RX-dropped"] ?? 0,
                                        txPackets: txp, txDropped: tx["TX-dropped"] ?? 0)
        }
        return result
    }
}
