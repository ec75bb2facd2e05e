import BMAContract
import Control
import Foundation
import Glibc
import XCTest

/// A writer killed at random moments (SIGKILL, 100 times) never leaves a partial policy file:
/// the file always holds one complete version.
final class StateStoreCrashTests: XCTestCase {
    /// `count` policies with every field set, varied by `seed`: a file of several hundred KiB.
    static func bigSet(count: Int, seed: Int, generation: UInt64) throws -> PolicySet {
        let policies = (0..<count).map { i in
            Policy(id: UInt16(i + 1), name: "policy \(i) of set \(seed)", priority: (i * 7 + seed) % 2001 - 1000,
                   match: PolicyMatch(vms: [.name("vm\(i % 50)"), .id(UInt32(i % 1000 + 1))],
                                      srcCIDR: CIDR(ipv4: UInt32(0x0a00_0000 + i * 256), prefixLength: 24),
                                      dstCIDR: CIDR("2001:db8:\(String(seed, radix: 16)):\(String(i, radix: 16))::/64"),
                                      vlan: UInt16(i % 4096), protocol: i % 2 == 0 ? .tcp : .udp,
                                      srcPorts: PortSet("1024-65535"), dstPorts: PortSet("\(i % 60000),\(i % 60000 + 2)"),
                                      sizeMin: 64, sizeMax: 1500, direction: .both),
                   action: PolicyAction(mirror: .always, sensitivity: Double(seed) + 0.25, snaplen: 128,
                                        rateLimit: .init(packetsPerSecond: 1000, bytesPerSecond: 1_000_000),
                                        stickySeconds: 30, preTriggerPackets: 8, encapsulation: "geneve"))
        }
        return try PolicySet(policies, generation: generation)
    }

    func testKilledWriterLeavesACompleteVersion() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bma-crash-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try StateStore(directory: dir)
        let file = PolicyFile(store: store)
        let a = try Self.bigSet(count: 1500, seed: 1, generation: 10)
        let b = try Self.bigSet(count: 1000, seed: 2, generation: 11)
        let dataA = PolicyFile.encode(a), dataB = PolicyFile.encode(b)
        XCTAssertGreaterThan(dataB.count, 500_000)
        try store.write(dataA, to: file.name)  // also warms up every code path the child runs

        var sawA = 0, sawB = 0, leftovers = 0
        for round in 0..<100 {
            var ready: [Int32] = [0, 0]
            XCTAssertEqual(pipe(&ready), 0)
            let pid = fork()
            if pid == 0 {
                // The child: write B, A, B, A, ... until killed. Only async-signal-tolerant work:
                // the data is prepared; no XCTest, no stdio.
                close(ready[0])
                var n = 0
                while true {
                    do { try store.write(n % 2 == 0 ? dataB : dataA, to: file.name) } catch { _exit(2) }
                    if n == 0 {
                        var byte: UInt8 = 1
                        _ = write(ready[1], &byte, 1)
                        close(ready[1])
                    }
                    n += 1
                }
            }
            XCTAssertGreaterThan(pid, 0)
            close(ready[1])
            // Wait until the child has completed one write, then kill it at a random moment.
            var pfd = pollfd(fd: ready[0], events: Int16(POLLIN), revents: 0)
            let polled = poll(&pfd, 1, 20_000)
            close(ready[0])
            usleep(UInt32.random(in: 0...15_000))
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            XCTAssertEqual(polled, 1, "round \(round): the writer never finished a write")
            XCTAssertEqual(status & 0x7f, SIGKILL, "round \(round): the writer exited by itself (status \(status))")

            if entries(dir).contains(where: { $0.hasPrefix(file.name + ".tmp-") }) { leftovers += 1 }
            let data = try XCTUnwrap(try store.read(file.name))
            if data == dataA {
                sawA += 1
            } else if data == dataB {
                sawB += 1
            } else {
                XCTFail("round \(round): the file holds \(data.count) bytes that are neither version")
                break
            }
            if round % 10 == 0 {
                // The loader too (decoding is slow in debug builds: not every round).
                let loaded = try XCTUnwrap(try file.load())
                XCTAssertTrue(loaded == a || loaded == b, "round \(round)")
            } else {
                try store.removeLeftovers(of: file.name)
            }
            XCTAssertFalse(entries(dir).contains { $0.contains(".tmp-") }, "round \(round): leftovers are cleaned")
        }
        print("StateStoreCrashTests: version A \(sawA)x, version B \(sawB)x, killed mid-write (leftover) \(leftovers)x")
        XCTAssertEqual(sawA + sawB, 100)
        XCTAssertGreaterThan(leftovers, 0, "no kill landed during a write: the test proved nothing")
    }

    func entries(_ dir: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] }
}
