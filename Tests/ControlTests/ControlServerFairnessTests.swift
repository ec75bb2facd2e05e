import Control
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// No client can keep the others out: a request has a deadline that trickled bytes do not move,
/// one uid holds a bounded share of the connections, and a slot is always left for root.
final class ControlServerFairnessTests: XCTestCase {
    func testAClientTricklingOneByteAtATimeIsClosedAtTheRequestDeadline() throws {
        // Idle would be 0.6 s, but bytes keep arriving: only a deadline on the whole request
        // closes this client.
        let h = try ControlServerHarness(limits: .init(requestSeconds: 1.0, idleSeconds: 0.6))
        h.start()
        defer { h.stop() }
        let trickler = try ControlRawClient(path: h.path)
        let start = Date()
        var closedAfter: Double?
        for byte in Array("{\"id\":1,\"method\":\"echo\",\"params\":{\"x\":\"".utf8) + Array(repeating: UInt8(ascii: "a"), count: 60) {
            _ = trickler.send([byte], seconds: 0.2)
            if trickler.readLine(seconds: 0.1) == .closed {
                closedAfter = Date().timeIntervalSince(start)
                break
            }
            if Date().timeIntervalSince(start) > 4 { break }
        }
        guard let closedAfter else { return XCTFail("a client sending a byte every 0.1 s was never closed") }
        XCTAssertGreaterThanOrEqual(closedAfter, 0.9)
        XCTAssertLessThan(closedAfter, 2.5)
        XCTAssertTrue(h.wait { $0.timedOut == 1 && $0.idleClosed == 0 }, "\(h.counters)")
    }

    func testAClientThatAsksAndReadsStaysOpenPastTheDeadline() throws {
        let h = try ControlServerHarness(limits: .init(requestSeconds: 0.4, idleSeconds: 0.4))
        h.start()
        defer { h.stop() }
        let client = try ControlRawClient(path: h.path)
        for i in 0..<12 {
            // A request sent in two pieces, each answered well within its deadline.
            XCTAssertTrue(client.send("{\"id\":\(i),"))
            usleep(50_000)
            XCTAssertTrue(client.send("\"method\":\"echo\"}\n"))
            XCTAssertEqual(client.readResponse()?.id, .number(Double(i)))
            usleep(100_000)
        }
        XCTAssertEqual(h.counters.timedOut + h.counters.idleClosed, 0)
    }

    func testAClientThatDoesNotReadItsAnswerIsClosedAtTheDeadline() throws {
        let h = try ControlServerHarness(limits: .init(requestSeconds: 0.5, idleSeconds: 60))
        h.start()
        defer { h.stop() }
        let reader = try ControlRawClient(path: h.path)
        // Far more answers than the socket buffers hold, never read.
        var requests = ""
        for i in 0..<20_000 { requests += "{\"id\":\(i),\"method\":\"echo\",\"params\":{\"pad\":\"\(String(repeating: "p", count: 200))\"}}\n" }
        _ = reader.send(Array(requests.utf8), seconds: 3)
        XCTAssertTrue(h.wait(upTo: 5) { $0.timedOut + $0.dropped >= 1 }, "\(h.counters)")
    }

    // MARK: uids (root only: needs other uids)

    /// Holds `count` connections as uid:gid (gid = the socket's group) for `hold` seconds and
    /// prints, per connection, `open` or the error code it was answered with.
    private static let holdScript = """
        import socket, sys, time, json
        path, count, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        socks = []
        for i in range(count):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.settimeout(0.5)
            try:
                d = s.recv(4096)
                print(json.loads(d)["error"]["code"] if d else "closed", flush=True)
            except socket.timeout:
                print("open", flush=True)
            socks.append(s)
        time.sleep(hold)
        """

    private func hold(_ count: Int, as uid: UInt32, _ gid: UInt32, path: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid", String(uid), "--regid", String(gid), "--clear-groups",
                       "/usr/bin/python3", "-I", "-c", Self.holdScript, path, String(count), "20"]
        p.standardOutput = Pipe()
        try p.run()
        return p
    }

    /// Reads the `count` status lines of a holder.
    private func statuses(_ p: Process, _ count: Int) -> [String] {
        guard let pipe = p.standardOutput as? Pipe else { return [] }
        var text = ""
        let end = Date().addingTimeInterval(15)
        while text.split(separator: "\n").count < count && Date() < end {
            let d = pipe.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
        }
        return text.split(separator: "\n").map(String.init)
    }

    func testIdleClientsOfOtherUsersLeaveEachUserItsShareAndRootItsSlot() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to connect as other users") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { throw XCTSkip("needs python3 and setpriv") }
        guard let nogroup = getgrnam("nogroup")?.pointee.gr_gid else { throw XCTSkip("no group nogroup") }
        let h = try ControlServerHarness(
            limits: .init(maxConnections: 6, maxConnectionsPerUID: 2, reservedForRoot: 1, idleSeconds: 30),
            group: "nogroup", dir: ControlTestDir(mode: 0o777))
        XCTAssertEqual(chmod(h.path, 0o666), 0)
        h.start()
        defer { h.stop() }

        var holders: [Process] = []
        defer { for p in holders where p.isRunning { p.terminate(); p.waitUntilExit() } }
        // Three users, four idle connections each.
        var seen: [[String]] = []
        for uid: UInt32 in [65534, 65533, 65532] {
            let p = try hold(4, as: uid, nogroup, path: h.path)
            holders.append(p)
            seen.append(statuses(p, 4))
        }
        XCTAssertEqual(seen[0], ["open", "open", "busy", "busy"], "a user holds at most its share")
        XCTAssertEqual(seen[1], ["open", "open", "busy", "busy"])
        XCTAssertEqual(seen[2], ["open", "busy", "busy", "busy"], "the last slot is root's")
        XCTAssertEqual(h.connectionCount, 5)

        let root = try ControlClient(path: h.path, timeout: 5)
        XCTAssertEqual(try root.call("whoami")["uid"], 0, "root is served while others fill the socket")
    }
}
