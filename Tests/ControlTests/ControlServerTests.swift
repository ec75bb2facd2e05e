import Control
import Foundation
import Glibc
import XCTest

final class ControlServerTests: XCTestCase {
    func testRequestsAreAnsweredInOrderOnOneConnection() throws {
        let h = try ControlServerHarness()
        h.start()
        defer { h.stop() }
        let client = try ControlClient(path: h.path, timeout: 5)
        for i in 0..<300 {
            let r = try client.call("echo", params: ["n": .number(Double(i))])
            XCTAssertEqual(r["n"]?.intValue, i)
            XCTAssertEqual(r["id"]?.intValue, i + 1)
        }
        XCTAssertTrue(h.wait { $0.requests == 300 })
        XCTAssertEqual(h.counters.accepted, 1)
        XCTAssertEqual(h.counters.errors, [:])
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let h = try ControlServerHarness()
        h.start()
        defer { h.stop() }
        let raw = try ControlRawClient(path: h.path)
        var text = ""
        for i in 0..<1000 {
            let id = i % 2 == 0 ? "\(i)" : "\"s\(i)\""
            text += "{\"id\":\(id),\"method\":\"echo\",\"params\":{\"n\":\(i)}}\n"
        }
        XCTAssertTrue(raw.send(text))
        for i in 0..<1000 {
            guard let r = raw.readResponse() else { return }
            XCTAssertEqual(r.id, i % 2 == 0 ? .number(Double(i)) : .string("s\(i)"))
            XCTAssertEqual(try r.outcome.get()["n"]?.intValue, i)
        }
    }

    /// Every kind of bad line, with the error it must get.
    static let badLines: [([UInt8], ControlErrorCode)] = [
        (Array("garbage".utf8), .parseError),
        (Array("".utf8), .parseError),
        (Array("{\"id\":1,\"method\":\"echo\"".utf8), .parseError),
        (Array("[1,2,3]".utf8), .parseError),
        ([0xFF, 0xFE, 0x7B, 0x7D], .parseError),
        ([0x00, 0x00, 0x00], .parseError),
        (Array("{\"id\":1,\"method\":\"ec".utf8) + [0x00] + Array("ho\"}".utf8), .parseError),
        (Array(repeating: UInt8(ascii: "["), count: 5000), .parseError),
        (Array("{\"id\":5}".utf8), .invalidRequest),
        (Array("{\"id\":5,\"method\":\"echo\",\"params\":[1]}".utf8), .invalidRequest),
        (Array("{\"id\":5,\"method\":\"no.such.method\"}".utf8), .methodNotFound),
        (Array("{\"id\":5,\"method\":\"big\",\"params\":{\"bytes\":\"many\"}}".utf8), .invalidParams),
    ]

    func testAThousandBadRequestsAreAnsweredWhileAWellBehavedClientIsServed() throws {
        let h = try ControlServerHarness()
        h.start()
        defer { h.stop() }
        let good = try ControlClient(path: h.path, timeout: 5)
        let bad = try ControlRawClient(path: h.path)
        var goodCalls = 0
        var sent = 0
        for batch in 0..<9 {
            var payload: [UInt8] = []
            var expected: [ControlErrorCode] = []
            for i in 0..<100 {
                let (line, code) = Self.badLines[(batch * 100 + i) % Self.badLines.count]
                payload += line + [UInt8(ascii: "\n")]
                expected.append(code)
            }
            XCTAssertTrue(bad.send(payload))
            sent += 100
            XCTAssertEqual(try good.call("echo", params: ["batch": .number(Double(batch))])["batch"]?.intValue, batch)
            goodCalls += 1
            for code in expected {
                guard let r = bad.readResponse() else { return }
                XCTAssertEqual(controlErrorCode(r), code)
            }
        }
        // 100 oversized requests, each on its own connection (the server closes it after answering).
        let oversized = Array(repeating: UInt8(ascii: "a"), count: 70_000) + [UInt8(ascii: "\n")]
        for i in 0..<100 {
            let raw = try ControlRawClient(path: h.path)
            raw.send(oversized)
            sent += 1
            let r = raw.readResponse()
            XCTAssertEqual(controlErrorCode(r), .requestTooLarge)
            XCTAssertNil(r?.id)
            XCTAssertEqual(raw.readLine(), .closed)
            if i % 10 == 0 {
                XCTAssertNoThrow(try good.call("echo"))
                goodCalls += 1
            }
        }
        XCTAssertEqual(sent, 1000)
        XCTAssertTrue(h.wait { $0.requests == UInt64(1000 + goodCalls) }, "\(h.counters)")
        let c = h.counters
        XCTAssertEqual(c.errors(.requestTooLarge), 100)
        XCTAssertEqual(c.errors.values.reduce(0, +), 1000)
        XCTAssertEqual(try good.call("echo", params: ["still": true])["still"], true)
    }

    func testLineAtTheLimitIsServedAndOneByteMoreIsTooLarge() throws {
        let h = try ControlServerHarness()
        h.start()
        defer { h.stop() }
        func line(_ size: Int) -> [UInt8] {
            let head = "{\"id\":1,\"method\":\"echo\",\"params\":{\"pad\":\""
            let tail = "\"}}"
            return Array((head + String(repeating: "p", count: size - head.utf8.count - tail.utf8.count) + tail).utf8)
        }
        let ok = try ControlRawClient(path: h.path)
        XCTAssertEqual(line(65536).count, 65536)
        ok.send(line(65536) + [UInt8(ascii: "\n")])
        XCTAssertNil(controlErrorCode(ok.readResponse()))

        let tooLarge = try ControlRawClient(path: h.path)
        tooLarge.send("{\"id\":7,\"method\":\"echo\"}\n")
        tooLarge.send(line(65537) + [UInt8(ascii: "\n")])
        XCTAssertEqual(tooLarge.readResponse()?.id, 7, "earlier requests are answered first")
        let r = tooLarge.readResponse()
        XCTAssertEqual(controlErrorCode(r), .requestTooLarge)
        XCTAssertNil(r?.id)
        XCTAssertEqual(tooLarge.readLine(), .closed)
    }

    func testConnectionLimitAnswersBusy() throws {
        let h = try ControlServerHarness(limits: .init(maxConnections: 3))
        h.start()
        defer { h.stop() }
        var clients = try (0..<3).map { _ in try ControlClient(path: h.path, timeout: 5) }
        for c in clients { XCTAssertNoThrow(try c.call("echo")) }

        let raw = try ControlRawClient(path: h.path)
        let r = raw.readResponse()
        XCTAssertEqual(controlErrorCode(r), .busy)
        XCTAssertNil(r?.id)
        XCTAssertEqual(raw.readLine(), .closed)

        let extra = try ControlClient(path: h.path, timeout: 5)
        XCTAssertThrowsError(try extra.call("echo")) { XCTAssertEqual(($0 as? ControlError)?.code, .busy) }

        clients.removeLast()
        XCTAssertTrue(h.wait { _ in h.connectionCount == 2 })
        XCTAssertNoThrow(try extra.call("echo"), "a slot is free again")
        XCTAssertGreaterThanOrEqual(h.counters.rejected, 2)
        XCTAssertGreaterThanOrEqual(h.counters.errors(.busy), 2)
    }

    func testIdleConnectionsAreClosed() throws {
        let h = try ControlServerHarness(limits: .init(idleSeconds: 0.5))
        h.start()
        defer { h.stop() }
        let idle = try ControlRawClient(path: h.path)
        let busy = try ControlRawClient(path: h.path)
        let start = Date()
        for i in 0..<16 {
            busy.send("{\"id\":\(i),\"method\":\"echo\"}\n")
            XCTAssertEqual(busy.readResponse()?.id, .number(Double(i)))
            usleep(50_000)
        }
        XCTAssertEqual(idle.readLine(seconds: 3), .closed)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.45)
        busy.send("{\"id\":99,\"method\":\"echo\"}\n")
        XCTAssertEqual(busy.readResponse()?.id, 99, "an active connection stays open")
        XCTAssertTrue(h.wait { $0.idleClosed >= 1 })
    }

    func testPartialLineThenDisconnect() throws {
        let h = try ControlServerHarness()
        h.start()
        defer { h.stop() }
        do {
            let raw = try ControlRawClient(path: h.path)
            raw.send("{\"id\":1,\"method\":\"ec")
            XCTAssertTrue(h.wait { $0.accepted == 1 })
        }
        XCTAssertTrue(h.wait { _ in h.connectionCount == 0 })
        let client = try ControlClient(path: h.path, timeout: 5)
        XCTAssertEqual(try client.call("echo", params: ["x": 1])["x"], 1)
    }

    func testHalfClosedClientGetsEveryAnswer() throws {
        let h = try ControlServerHarness()
        h.start()
        defer { h.stop() }
        let raw = try ControlRawClient(path: h.path)
        raw.send("{\"id\":1,\"method\":\"echo\"}\n{\"id\":2,\"method\":\"nope\"}\n{\"id\":3,\"method\":\"echo\"}")
        raw.shutdownWrite()
        XCTAssertEqual(raw.readResponse()?.id, 1)
        XCTAssertEqual(controlErrorCode(raw.readResponse()), .methodNotFound)
        let last = raw.readResponse()
        XCTAssertEqual(last?.id, 3, "a final line without newline is answered at end of input")
        XCTAssertNil(controlErrorCode(last))
        XCTAssertEqual(raw.readLine(), .closed)

        // More requests than one step answers: every one is answered before the close.
        let many = try ControlRawClient(path: h.path)
        many.send((0..<500).map { "{\"id\":\($0),\"method\":\"echo\"}\n" }.joined())
        many.shutdownWrite()
        for i in 0..<500 { XCTAssertEqual(many.readResponse()?.id, .number(Double(i))) }
        XCTAssertEqual(many.readLine(), .closed)
    }

    func testClientThatNeverReadsDoesNotBlockOthers() throws {
        let h = try ControlServerHarness(limits: .init(maxOutputBytes: 1 << 20))
        h.start()
        defer { h.stop() }
        let hog = try ControlRawClient(path: h.path)
        var flood = ""
        for i in 0..<400 { flood += "{\"id\":\(i),\"method\":\"big\",\"params\":{\"bytes\":65536}}\n" }
        XCTAssertTrue(hog.send(flood))
        let good = try ControlClient(path: h.path, timeout: 2)
        let start = Date()
        for i in 0..<50 { XCTAssertEqual(try good.call("echo", params: ["i": .number(Double(i))])["i"]?.intValue, i) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        XCTAssertTrue(h.wait { $0.dropped == 1 }, "\(h.counters)")
        XCTAssertTrue(h.wait { _ in h.connectionCount == 1 })
    }

    func testEPIPEAndResetsDoNotStopTheServer() throws {
        let h = try ControlServerHarness()
        h.start()
        defer { h.stop() }
        for _ in 0..<50 {
            let raw = try ControlRawClient(path: h.path)
            raw.send("{\"id\":1,\"method\":\"big\",\"params\":{\"bytes\":1000000}}\n{\"id\":2,\"method\":\"echo\"}\n")
        }
        let client = try ControlClient(path: h.path, timeout: 5)
        XCTAssertEqual(try client.call("echo", params: ["ok": true])["ok"], true)
        XCTAssertTrue(h.wait { _ in h.connectionCount == 1 })
    }

    func testRandomBytesNeverStopTheServer() throws {
        let h = try ControlServerHarness(limits: .init(maxRequestBytes: 4096))
        h.start()
        defer { h.stop() }
        var rng = ProtocolTestRandom(seed: 7)
        let good = try ControlClient(path: h.path, timeout: 5)
        for round in 0..<20 {
            let raw = try ControlRawClient(path: h.path)
            var bytes = [UInt8]()
            for _ in 0..<Int(rng.next() % 20_000) {
                let r = rng.next()
                bytes.append(r % 50 == 0 ? 0x0A : UInt8(truncatingIfNeeded: r >> 8))
            }
            raw.send(bytes)
            if round % 2 == 0 { raw.shutdownWrite() }
            // Every answer is a well-formed error line, until the connection closes or goes quiet.
            while case .line(let text) = raw.readLine(seconds: 0.2) {
                XCTAssertNotNil(controlErrorCode(try? ControlResponse(line: Array(text.utf8))), text)
            }
            XCTAssertEqual(try good.call("echo", params: ["round": .number(Double(round))])["round"]?.intValue, round)
        }
    }

    func testSocketFileModeAndGroup() throws {
        let h = try ControlServerHarness(group: geteuid() == 0 ? "root" : nil)
        defer { h.stop() }
        var st = stat()
        XCTAssertEqual(lstat(h.path, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(st.st_mode & 0o7777, 0o660)
        XCTAssertEqual(st.st_gid, getegid())
        XCTAssertEqual(st.st_uid, geteuid())
    }

    func testStaleSocketFileIsReplaced() throws {
        let dir = ControlTestDir()
        let path = dir.file("bmad.sock")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(rc, 0)
        close(fd)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "a stale socket file is left behind")

        let h = try ControlServerHarness(dir: dir)
        h.start()
        defer { h.stop() }
        XCTAssertNoThrow(try ControlClient(path: path, timeout: 5).call("echo"))
    }

    func testSecondServerOnTheSamePathIsRefused() throws {
        let h = try ControlServerHarness()
        h.start()
        defer { h.stop() }
        XCTAssertThrowsError(try ControlServer(path: h.path)) {
            XCTAssertEqual($0 as? ControlServerError, .alreadyRunning(path: h.path))
        }
        XCTAssertNoThrow(try ControlClient(path: h.path, timeout: 5).call("echo"), "the first server still serves")
    }

    func testSomethingElseAtThePathIsLeftAlone() throws {
        let dir = ControlTestDir()
        let path = dir.file("bmad.sock")
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("keep".utf8)))
        XCTAssertThrowsError(try ControlServer(path: path)) {
            XCTAssertEqual($0 as? ControlServerError, .notASocket(path: path))
        }
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data("keep".utf8))
    }

    func testSetupErrors() throws {
        let dir = ControlTestDir()
        XCTAssertThrowsError(try ControlServer(path: dir.file("a.sock"), group: "no-such-group-for-bma")) {
            XCTAssertEqual($0 as? ControlServerError, .unknownGroup("no-such-group-for-bma"))
            XCTAssertEqual("\($0)", "unknown group 'no-such-group-for-bma' for the control socket")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("a.sock")))
        let long = dir.file(String(repeating: "x", count: 120))
        XCTAssertThrowsError(try ControlServer(path: long)) {
            guard case .system(let e)? = $0 as? ControlServerError else { return XCTFail("\($0)") }
            XCTAssertEqual(e.code, ENAMETOOLONG)
        }
        XCTAssertThrowsError(try ControlServer(path: dir.file("missing/dir/bmad.sock"))) {
            guard case .system(let e)? = $0 as? ControlServerError else { return XCTFail("\($0)") }
            XCTAssertEqual(e.code, ENOENT)
        }
    }

    func testCloseRemovesOnlyItsOwnSocketFile() throws {
        let dir = ControlTestDir()
        let path = dir.file("bmad.sock")
        let first = try ControlServer(path: path)
        first.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))

        let old = try ControlServer(path: path)
        unlink(path)
        let new = try ControlServer(path: path)
        old.close()
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "the newer server's socket stays")
        new.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        new.close()
    }

    func testStepWithoutTrafficWaitsAboutTheTimeout() throws {
        let dir = ControlTestDir()
        let server = try ControlServer(path: dir.file("bmad.sock"))
        defer { server.close() }
        let start = Date()
        server.step(timeoutMs: 100, handler: controlStubHandler)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThanOrEqual(elapsed, 0.08)
        XCTAssertLessThan(elapsed, 2)
        XCTAssertEqual(server.counters, ControlServer.Counters())
    }

    func testCountersAsJSON() {
        var c = ControlServer.Counters()
        c.accepted = 2
        c.errors[.busy] = 1
        XCTAssertEqual(c.json["accepted"], 2)
        XCTAssertEqual(c.json["errors"]?["busy"], 1)
    }

    // MARK: peer credentials (root only: needs another uid)

    static let python = "/usr/bin/python3"
    static let setpriv = "/usr/bin/setpriv"
    static let connectScript = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(sys.argv[1])
        try:
            s.sendall(b'{"id":1,"method":"whoami"}\\n')
        except OSError:
            pass
        buf = b''
        try:
            while b'\\n' not in buf:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
        except OSError:
            pass
        sys.stdout.write(buf.decode('utf-8', 'replace'))
        """

    func requireRoot() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to connect as another user") }
        guard FileManager.default.isExecutableFile(atPath: Self.python),
              FileManager.default.isExecutableFile(atPath: Self.setpriv) else {
            throw XCTSkip("needs \(Self.python) and \(Self.setpriv)")
        }
    }

    /// Connects as uid:gid with no supplementary groups and returns the response line.
    func connect(as uid: UInt32, _ gid: UInt32, to path: String) throws -> ControlResponse? {
        let (status, output) = try runControlTestProgram(Self.setpriv, [
            "--reuid", String(uid), "--regid", String(gid), "--clear-groups",
            Self.python, "-I", "-c", Self.connectScript, path,
        ])
        XCTAssertEqual(status, 0, output)
        return try? ControlResponse(line: Array(output.trimmingCharacters(in: .whitespacesAndNewlines).utf8))
    }

    /// A server whose socket anyone can reach, so that only the credential check decides.
    func openServer(group: String? = nil) throws -> ControlServerHarness {
        let h = try ControlServerHarness(group: group, dir: ControlTestDir(mode: 0o777))
        XCTAssertEqual(chmod(h.path, 0o666), 0)
        h.start()
        return h
    }

    func testStrangerIsRefusedWithPermissionDenied() throws {
        try requireRoot()
        let h = try openServer()
        defer { h.stop() }
        let r = try connect(as: 65534, 65534, to: h.path)
        XCTAssertEqual(controlErrorCode(r), .permissionDenied)
        XCTAssertNil(r?.id)
        XCTAssertTrue(h.wait { $0.errors(.permissionDenied) == 1 && $0.rejected == 1 })
        XCTAssertEqual(h.counters.accepted, 0)
        XCTAssertEqual(try ControlClient(path: h.path, timeout: 5).call("whoami")["uid"], 0, "root is served")
    }

    func testMemberOfTheGroupIsAdmitted() throws {
        try requireRoot()
        let tag = String(getpid() % 100_000)
        let group = "bmactl\(tag)", user = "bmausr\(tag)"
        guard (try? runControlTestProgram("/usr/sbin/groupadd", [group]))?.status == 0 else { throw XCTSkip("groupadd failed") }
        defer { _ = try? runControlTestProgram("/usr/sbin/groupdel", [group]) }
        guard (try? runControlTestProgram("/usr/sbin/useradd", ["-M", "-N", "-g", "nogroup", "-G", group, "-s", "/usr/sbin/nologin", user]))?.status == 0
        else { throw XCTSkip("useradd failed") }
        defer { _ = try? runControlTestProgram("/usr/sbin/userdel", [user]) }
        guard let gr = getgrnam(group), let pw = getpwnam(user) else { return XCTFail("no entries") }
        let gid = gr.pointee.gr_gid, uid = pw.pointee.pw_uid

        let h = try openServer(group: group)
        defer { h.stop() }
        var st = stat()
        XCTAssertEqual(lstat(h.path, &st), 0)
        XCTAssertEqual(st.st_gid, gid, "the socket belongs to the configured group")

        // A member through the group database (the process itself holds no supplementary group).
        let viaDatabase = try connect(as: uid, 65534, to: h.path)
        XCTAssertNil(controlErrorCode(viaDatabase), "\(String(describing: viaDatabase))")
        XCTAssertEqual(try viaDatabase?.outcome.get()["uid"], .number(Double(uid)))
        // A process whose own gid is the group.
        let viaGID = try connect(as: 65534, gid, to: h.path)
        XCTAssertNil(controlErrorCode(viaGID), "\(String(describing: viaGID))")
        // Everyone else.
        XCTAssertEqual(controlErrorCode(try connect(as: 65534, 65534, to: h.path)), .permissionDenied)
        XCTAssertTrue(h.wait { $0.accepted == 2 && $0.rejected == 1 })
    }
}
