import Control
import Foundation
import PacketCapture
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The control socket under bad input and hostile clients: malformed, oversized and unknown
/// requests are each answered with the documented error and change nothing; a connection past
/// the limit is told `busy`; other users are refused; and bmad keeps serving and forwarding.
final class ControlRobustnessTests: ControlTestCase {
    static let vmID = 101

    private func config(_ scratch: ScratchDirectory, vm devargs: String, uplink: String = "net_null0,no-rx=1") -> ControlDaemonConfig {
        ControlDaemonConfig(uplink: uplink, vms: [.init(name: "vm1", id: Self.vmID, devargs: devargs)],
                            socket: scratch.file("bmad.sock"), stateDirectory: scratch.file("state"))
    }

    // MARK: Malformed requests

    /// One bad request and the answer it must get.
    struct Case {
        var line: [UInt8]
        var code: ControlErrorCode
        /// The id the answer must carry (nil: null, when the request could not be read).
        var id: JSONValue?
    }

    /// Bad request number `n` (cycling through every kind; ids are unique).
    static func badRequest(_ n: Int) -> Case {
        let id = JSONValue.number(Double(n))
        func req(_ method: JSONValue, _ params: JSONValue? = nil) -> [UInt8] {
            var o: [String: JSONValue] = ["id": id, "method": method]
            if let params { o["params"] = params }
            return Array(JSONValue.object(o).encodedString().utf8)
        }
        func policy(_ fields: [String: JSONValue]) -> JSONValue {
            var p: [String: JSONValue] = ["id": 40, "match": ["protocol": "udp"], "action": ["mirror": "always"]]
            for (k, v) in fields { p[k] = v }
            return .object(p)
        }
        let kinds: [() -> Case] = [
            // Not a JSON object.
            { Case(line: Array("hello".utf8), code: .parseError, id: nil) },
            { Case(line: Array("{".utf8), code: .parseError, id: nil) },
            { Case(line: Array("[1,2,3]".utf8), code: .parseError, id: nil) },
            { Case(line: Array("42".utf8), code: .parseError, id: nil) },
            { Case(line: Array("null".utf8), code: .parseError, id: nil) },
            { Case(line: Array("\"status\"".utf8), code: .parseError, id: nil) },
            { Case(line: Array("{\"id\":\(n),\"method\":\"status\"".utf8), code: .parseError, id: nil) },
            { Case(line: Array("{'id':\(n),'method':'status'}".utf8), code: .parseError, id: nil) },
            { Case(line: Array("{\"id\":\(n),\"method\":\"status\",}".utf8), code: .parseError, id: nil) },
            { Case(line: Array("{\"id\":\(n),\"method\":\"status\"} {\"id\":1}".utf8), code: .parseError, id: nil) },
            { Case(line: Array("{\"id\":\(n),\"method\":\"status\",\"params\":{\"x\":NaN}}".utf8), code: .parseError, id: nil) },
            { Case(line: [0xFF, 0xFE, 0x00, 0x01, 0x7B], code: .parseError, id: nil) },
            { Case(line: Array(("{\"id\":\(n),\"method\":\"status\",\"params\":{\"a\":" + String(repeating: "[", count: 5000)
                                + String(repeating: "]", count: 5000) + "}}").utf8), code: .parseError, id: nil) },
            // Not a request.
            { Case(line: Array("{\"id\":\(n)}".utf8), code: .invalidRequest, id: id) },
            { Case(line: req(7), code: .invalidRequest, id: id) },
            { Case(line: req(""), code: .invalidRequest, id: id) },
            { Case(line: req("status", [1]), code: .invalidRequest, id: id) },
            { Case(line: req("status", "all"), code: .invalidRequest, id: id) },
            { Case(line: Array("{\"id\":true,\"method\":\"status\"}".utf8), code: .invalidRequest, id: nil) },
            { Case(line: Array("{\"id\":[\(n)],\"method\":\"status\"}".utf8), code: .invalidRequest, id: nil) },
            // Unknown methods.
            { Case(line: req("nope"), code: .methodNotFound, id: id) },
            { Case(line: req("STATUS"), code: .methodNotFound, id: id) },
            { Case(line: req("status "), code: .methodNotFound, id: id) },
            { Case(line: req("policy.delete", ["id": 1]), code: .methodNotFound, id: id) },
            { Case(line: Array(JSONValue.object(["id": .string("s\(n)"), "method": "vm.kill"]).encodedString().utf8),
                   code: .methodNotFound, id: .string("s\(n)")) },
            { Case(line: req("no.such", ["pad": .string(String(repeating: "x", count: 900_000))]), code: .methodNotFound, id: id) },
            // Bad parameters.
            { Case(line: req("policy.add", policy(["match": ["dst_cidr": "10.0.0.0/33"]])), code: .invalidParams, id: id) },
            { Case(line: req("policy.add", policy(["priority": 5000])), code: .invalidParams, id: id) },
            { Case(line: req("policy.add", policy(["match": ["protocol": "smtp"]])), code: .invalidParams, id: id) },
            { Case(line: req("policy.add", policy(["match": ["dst_ports": "70000"]])), code: .invalidParams, id: id) },
            { Case(line: req("policy.add", policy(["match": ["direction": "sideways"]])), code: .invalidParams, id: id) },
            { Case(line: req("policy.add", policy(["action": ["mirror": "sometimes"]])), code: .invalidParams, id: id) },
            { Case(line: req("policy.add", policy(["colour": "red"])), code: .invalidParams, id: id) },
            { Case(line: req("policy.add", policy(["id": 70000])), code: .invalidParams, id: id) },
            { Case(line: req("policy.add", policy(["name": .string(String(repeating: "n", count: 200))])), code: .invalidParams, id: id) },
            { Case(line: req("policy.show"), code: .invalidParams, id: id) },
            { Case(line: req("policy.show", ["id": "x"]), code: .invalidParams, id: id) },
            { Case(line: req("policy.remove", ["id": 0]), code: .invalidParams, id: id) },
            { Case(line: req("policy.replace", ["policies": 5]), code: .invalidParams, id: id) },
            { Case(line: req("policy.replace", ["policies": [["priority": 1]]]), code: .invalidParams, id: id) },
            { Case(line: req("vm.show"), code: .invalidParams, id: id) },
            { Case(line: req("vm.show", ["vm": [:]]), code: .invalidParams, id: id) },
            { Case(line: req("vm.show", ["vm": 0]), code: .invalidParams, id: id) },
            { Case(line: req("mirror.force", ["vm": "vm1", "seconds": -1]), code: .invalidParams, id: id) },
            { Case(line: req("mirror.force", ["vm": "vm1", "seconds": "lots"]), code: .invalidParams, id: id) },
            { Case(line: req("sensitivity.set", ["value": 1000]), code: .invalidParams, id: id) },
            { Case(line: req("sensitivity.set", ["value": "high"]), code: .invalidParams, id: id) },
            { Case(line: req("baseline.import", ["vm": "vm1", "baseline": "junk"]), code: .invalidParams, id: id) },
            // Things that do not exist.
            { Case(line: req("vm.show", ["vm": "ghost"]), code: .notFound, id: id) },
            { Case(line: req("vm.show", ["vm": 9999]), code: .notFound, id: id) },
            { Case(line: req("baseline.freeze", ["vm": "ghost"]), code: .notFound, id: id) },
            { Case(line: req("mirror.force", ["vm": "ghost", "seconds": 1]), code: .notFound, id: id) },
            { Case(line: req("policy.show", ["id": 4242]), code: .notFound, id: id) },
            { Case(line: req("policy.remove", ["id": 999]), code: .notFound, id: id) },
            { Case(line: req("policy.update", policy(["id": 999])), code: .notFound, id: id) },
            // Conflicts (policy 1 exists).
            { Case(line: req("policy.add", policy(["id": 1])), code: .conflict, id: id) },
            { Case(line: req("policy.replace", ["policies": [policy(["id": 5]), policy(["id": 5])]]), code: .conflict, id: id) },
        ]
        return kinds[n % kinds.count]()
    }

    /// 1,000 bad requests, pipelined in batches on a few connections, plus oversized lines that
    /// each cost a connection: every one is answered with its error code and id, a connection
    /// stays usable after an error (`status` closes each batch), nothing changes, and bmad then
    /// still answers and forwards the VM's traffic.
    func testAThousandBadRequestsAreAnsweredAndChangeNothing() throws {
        let scratch = try makeScratch()
        let fifo = try scratch.fifo("vm1.pcap")
        let uplink = scratch.file("uplink.pcap")
        let (bmad, streams) = try startDaemon(config(scratch, vm: "net_pcap0,rx_pcap=\(fifo)", uplink: "net_pcap9,tx_pcap=\(uplink)"),
                                              in: scratch, pipes: [fifo])
        let client = try bmad.client()
        _ = try client.call("policy.add", params: ["id": 1, "match": ["protocol": "udp", "dst_ports": "53"], "action": ["mirror": "always"]])
        let before = try client.call("policy.list")
        client.close()

        var answered: [ControlErrorCode: Int] = [:]
        var failures: [String] = []
        let started = Date()
        var n = 0
        let batch = 50
        while n < 1000 {
            let conn = try ControlRawConnection(path: bmad.socket)
            let cases = (n..<min(n + batch, 1000)).map(Self.badRequest)
            var bytes: [UInt8] = []
            for c in cases { bytes += c.line + [0x0A] }
            bytes += Array("{\"id\":\"end\",\"method\":\"status\"}\n".utf8)
            try conn.send(bytes)
            for (k, c) in cases.enumerated() {
                guard let line = try conn.readLine(timeout: 10) else {
                    failures.append("request \(n + k): connection closed without an answer")
                    break
                }
                do {
                    let r = try ControlResponse(line: line)
                    switch r.outcome {
                    case .success(let v): failures.append("request \(n + k) (\(String(decoding: c.line.prefix(80), as: UTF8.self))): succeeded: \(v)")
                    case .failure(let e):
                        answered[e.code, default: 0] += 1
                        if e.code != c.code {
                            failures.append("request \(n + k) (\(String(decoding: c.line.prefix(80), as: UTF8.self))): \(e.code.rawValue) (\(e.message)), expected \(c.code.rawValue)")
                        }
                    }
                    if r.id != c.id { failures.append("request \(n + k): answered with id \(r.id ?? .null), expected \(c.id ?? .null)") }
                } catch {
                    failures.append("request \(n + k): unreadable answer \(String(decoding: line.prefix(200), as: UTF8.self))")
                }
            }
            if let line = try conn.readLine(timeout: 10), let r = try? ControlResponse(line: line), case .success = r.outcome, r.id == .string("end") {
                // The connection still serves after the errors.
            } else {
                failures.append("batch at \(n): the closing status was not answered")
            }
            conn.close()
            n += cases.count
            // An oversized line now and then: answered request-too-large (id null), then closed.
            if (n / batch) % 5 == 0 {
                let big = try ControlRawConnection(path: bmad.socket)
                let pad = String(repeating: "y", count: (1 << 20) + 100)
                try? big.send(Array("{\"id\":\(n),\"method\":\"status\",\"params\":{\"pad\":\"\(pad)\"}}\n".utf8))
                if let line = try big.readLine(timeout: 10), let r = try? ControlResponse(line: line), case .failure(let e) = r.outcome {
                    answered[e.code, default: 0] += 1
                    if e.code != .requestTooLarge || r.id != nil { failures.append("oversized line: \(e), id \(r.id ?? .null)") }
                    if try big.readLine(timeout: 5) != nil { failures.append("oversized line: the connection stayed open") }
                } else {
                    failures.append("oversized line: no request-too-large answer")
                }
                big.close()
            }
        }
        // A last request without its newline, at the end of the input, is still answered.
        let tail = try ControlRawConnection(path: bmad.socket)
        try tail.send(Array("{\"id\":\"last\",\"method\":\"no.such.method\"}".utf8))
        tail.shutdownWrite()
        if let line = try tail.readLine(timeout: 10), let r = try? ControlResponse(line: line), case .failure(let e) = r.outcome {
            XCTAssertEqual(e.code, .methodNotFound)
            XCTAssertEqual(r.id, .string("last"))
        } else {
            XCTFail("an unterminated last request is not answered")
        }
        tail.close()
        print("\(name): answers in \(String(format: "%.2f", Date().timeIntervalSince(started))) s: "
              + answered.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " "))
        XCTAssertTrue(failures.isEmpty, "\(failures.count) wrong answers: \(failures.prefix(10).joined(separator: "\n"))")
        XCTAssertEqual(answered.values.reduce(0, +), 1000 + 4, "every request was answered")
        XCTAssertEqual(Set(answered.keys), Set(ControlErrorCode.allCases).subtracting([.busy, .permissionDenied, .internal]))

        // Nothing changed, and bmad still serves and forwards.
        let c2 = try bmad.client()
        XCTAssertEqual(try c2.call("status")["pid"]?.intValue, Int(bmad.child.pid))
        XCTAssertEqual(try c2.call("policy.list"), before, "the bad requests changed no policy")
        let frames = ControlFrames.timed((0..<64).map {
            ControlFrames.udp(vm: Self.vmID, from: "10.0.1.5", to: "10.0.0.2", port: 53, tag: "after \($0)")
        }, from: ControlFrames.t0)
        try streams[0].send(frames)
        try bmad.waitForForwarded(c2, vm: "vm1", 64)
        c2.close()
        streams[0].close()
        XCTAssertEqual(try bmad.stop(), .exited(0), bmad.child.outputTail())
        assertSameFrames(try PcapFiles.frames(path: uplink), frames.map(\.bytes), "uplink capture")
    }

    // MARK: Connection limit

    /// 32 connections are served at once; the 33rd is answered `busy` (id null) and closed; once
    /// one closes, a new connection is served again.
    func testConnectionBeyondTheLimitIsAnsweredBusy() throws {
        let scratch = try makeScratch()
        let (bmad, _) = try startDaemon(config(scratch, vm: "net_null1,no-rx=1"), in: scratch)
        var open: [ControlRawConnection] = []
        defer { open.forEach { $0.close() } }
        for i in 0..<32 {
            let c = try ControlRawConnection(path: bmad.socket)
            try c.send(Array("{\"id\":\(i),\"method\":\"status\"}\n".utf8))
            guard let line = try c.readLine(timeout: 10), case .success = try ControlResponse(line: line).outcome else {
                XCTFail("connection \(i) is not served")
                return
            }
            open.append(c)
        }
        let extra = try ControlRawConnection(path: bmad.socket)
        try? extra.send(Array("{\"id\":99,\"method\":\"status\"}\n".utf8))
        let line = try extra.readLine(timeout: 10)
        let r = try line.map { try ControlResponse(line: $0) }
        if case .failure(let e)? = r?.outcome {
            XCTAssertEqual(e.code, .busy, e.message)
        } else {
            XCTFail("the 33rd connection got \(line.map { String(decoding: $0, as: UTF8.self) } ?? "nothing"), expected busy")
        }
        XCTAssertNil(r?.id, "busy answers a connection, not a request")
        XCTAssertNil(try extra.readLine(timeout: 5), "the 33rd connection is closed")
        extra.close()

        open.removeLast().close()
        // The server notices the close at its next step.
        var served = false
        try waitUntil("a new connection is served", timeout: 10) {
            let c = try ControlRawConnection(path: bmad.socket)
            defer { c.close() }
            try? c.send(Array("{\"id\":1,\"method\":\"status\"}\n".utf8))
            guard let line = try c.readLine(timeout: 5) else { return false }
            if case .success = try ControlResponse(line: line).outcome { served = true }
            return served
        }
        for (i, c) in open.enumerated() {
            try c.send(Array("{\"id\":\(i),\"method\":\"status\"}\n".utf8))
            XCTAssertNotNil(try c.readLine(timeout: 10), "connection \(i) still served")
        }
    }

    // MARK: Other users

    /// The socket is 0660 root:root (the daemon's group), here in a directory everyone may
    /// enter. uid 65534 without groups cannot even connect (EACCES: the file mode refuses);
    /// uid 65534 whose group is the socket's group is served; and should the file mode be too
    /// open (chmod 0666), peer credentials still refuse uid 65534: `permission-denied`, then the
    /// connection is closed. bmad keeps serving root throughout.
    func testOtherUsersAreRefused() throws {
        guard let setpriv = TestEnvironment.setpriv else { throw XCTSkip("setpriv (util-linux) is not installed") }
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("\(python) is not installed") }
        let scratch = try makeScratch()
        XCTAssertEqual(chmod(scratch.path, 0o777), 0)
        let (bmad, _) = try startDaemon(config(scratch, vm: "net_null1,no-rx=1"), in: scratch)
        var st = stat()
        XCTAssertEqual(stat(bmad.socket, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o660, "socket mode")
        XCTAssertEqual(st.st_uid, 0, "socket owner")
        XCTAssertEqual(st.st_gid, getegid(), "socket group: the daemon's")

        // Connects, sends `status`, prints the first line received and whether the server then
        // closed the connection; or the connect error.
        let script = """
            import errno, socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(sys.argv[1])
            except OSError as e:
                print("connect-error " + errno.errorcode.get(e.errno, str(e.errno)))
                sys.exit(0)
            try:
                s.sendall(b'{"id":1,"method":"status"}\\n')
            except OSError:
                pass
            s.settimeout(5)
            data = b''
            try:
                while b'\\n' not in data:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (socket.timeout, ConnectionResetError):
                pass
            print("reply " + data.split(b'\\n')[0].decode(errors="replace"))
            s.settimeout(1)
            try:
                print("closed" if s.recv(1) == b'' else "open")
            except socket.timeout:
                print("open")
            except ConnectionResetError:
                print("closed")
            """
        var runs = 0
        func run(_ identity: [String]) throws -> [String] {
            runs += 1
            let child = try ChildProcess(name: "client-\(runs)", executable: setpriv,
                                         arguments: identity + [python, "-c", script, bmad.socket], directory: scratch.path)
            let status: ExitStatus
            do { status = try child.waitForExit(timeout: 20) } catch {
                child.kill(signal: SIGKILL)
                throw error
            }
            XCTAssertEqual(status, .exited(0), child.outputTail())
            return child.stdout.split(separator: "\n").map(String.init)
        }
        let nobody = ["--reuid", "65534", "--regid", "65534", "--clear-groups"]

        XCTAssertEqual(try run(nobody), ["connect-error EACCES"], "uid 65534 without the group: the socket's mode refuses")

        let member = try run(["--reuid", "65534", "--regid", "\(getegid())", "--clear-groups"])
        XCTAssertEqual(member.count, 2, "\(member)")
        if let reply = member.first, reply.hasPrefix("reply "), let r = try? ControlResponse(line: Array(reply.dropFirst(6).utf8)) {
            if case .failure(let e) = r.outcome { XCTFail("uid 65534 in the socket's group is refused: \(e)") }
        } else {
            XCTFail("uid 65534 in the socket's group: \(member)")
        }
        XCTAssertEqual(member.last, "open", "a served connection stays open for more requests")

        XCTAssertEqual(chmod(bmad.socket, 0o666), 0)
        let refused = try run(nobody)
        XCTAssertEqual(refused.count, 2, "\(refused)")
        if let reply = refused.first, reply.hasPrefix("reply "), let r = try? ControlResponse(line: Array(reply.dropFirst(6).utf8)),
           case .failure(let e) = r.outcome {
            XCTAssertEqual(e.code, .permissionDenied, e.message)
            XCTAssertNil(r.id)
        } else {
            XCTFail("uid 65534 through an open socket mode: \(refused), expected permission-denied")
        }
        XCTAssertEqual(refused.last, "closed", "the refused connection is closed")

        let root = try bmad.client()
        XCTAssertEqual(try root.call("status")["vms"]?.intValue, 1, "root is still served")
        XCTAssertTrue(bmad.isRunning)
    }

    // MARK: Known bugs

    /// At most 1024 policies (the compiled table's capacity): policy.add refuses the 1025th, and
    /// policy.replace with 1025 must be refused the same way, changing nothing.
    func testPolicyReplaceBeyondTheTableCapacityIsRefused() throws {
        let scratch = try makeScratch()
        let cfg = config(scratch, vm: "net_null1,no-rx=1")
        let (bmad, _) = try startDaemon(cfg, in: scratch, quiet: false)
        let client = try bmad.client()
        func policies(_ n: Int) -> JSONValue {
            .array((1...n).map { ["id": .number(Double($0)), "match": ["protocol": "udp", "dst_ports": .string(String(1000 + $0))],
                                  "action": ["mirror": "always"]] })
        }
        let full = try client.call("policy.replace", params: ["policies": policies(1024)])
        XCTAssertEqual(full["count"]?.intValue, 1024)
        assertControlError(.invalidParams, "policy.add of a 1025th policy") {
            try client.call("policy.add", params: ["id": 2000, "action": ["mirror": "never"]])
        }
        do {
            _ = try client.call("policy.replace", params: ["policies": policies(1025)])
            XCTFail("policy.replace with 1025 policies succeeded")
        } catch let e as ControlError {
            XCTAssertEqual(e.code, .invalidParams, e.message)
        } catch {
            XCTFail("policy.replace with 1025 policies: \(error)")
        }
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertTrue(bmad.isRunning, "bmad is still running (\(bmad.child.exitStatus.map { "\($0)" } ?? "running"))")
        if bmad.isRunning {
            XCTAssertEqual((try? client.call("policy.list"))?["policies"]?.arrayValue?.count, 1024, "nothing changed")
            return
        }
        // What a service manager would do next: start it again on the same state.
        do {
            let (again, _) = try startDaemon(cfg, in: scratch, quiet: false)
            XCTAssertEqual(try again.client().call("policy.list")["policies"]?.arrayValue?.count, 1024)
        } catch {
            XCTFail("bmad does not start again on the saved policies: \(error)")
        }
    }

    /// The main lcore (control socket, statistics) must not wait for a worker. Here the VM is a
    /// pipe with no frame yet: the worker waits in libpcap's read holding that stdio stream's
    /// lock, and bmad's log (`fflush(NULL)`, every stream) waits for that lock, so `status` is
    /// not answered until a frame arrives. (The other control tests run bmad with --quiet.)
    func testControlAnswersWhileAVMPipeIsIdle() throws {
        let scratch = try makeScratch()
        let fifo = try scratch.fifo("vm1.pcap")
        let daemon = try ControlDaemon(config(scratch, vm: "net_pcap0,rx_pcap=\(fifo)"), in: scratch, name: "bmad", quiet: false)
        defer { daemon.child.kill(signal: SIGKILL) }
        let stream = try ControlPcapStream(fifo: fifo, reader: daemon)
        defer { stream.close() }
        try waitUntil("the control socket exists", timeout: 20) {
            try daemon.checkRunning()
            return FileManager.default.fileExists(atPath: daemon.socket)
        }
        // By now the main loop has reached its first log lines (link up).
        Thread.sleep(forTimeInterval: 1)
        do {
            let c = try ControlClient(path: daemon.socket, timeout: 3)
            _ = try c.call("status")
        } catch {
            XCTFail("status while the VM's pipe is idle: \(error)")
        }
        // End of the capture: the worker no longer waits, and bmad answers.
        stream.close()
        try daemon.waitUntilServing(timeout: 20)
        XCTAssertEqual(try daemon.stop(), .exited(0), daemon.child.outputTail())
    }
}

// MARK: - A raw client

/// A plain blocking Unix stream connection, for bytes the real client would never send.
final class ControlRawConnection {
    private var fd: Int32
    private var buffer: [UInt8] = []

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ScratchError(message: "socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0 else {
            let e = errno
            Glibc.close(fd)
            throw ScratchError(message: "connect \(path): \(String(cString: strerror(e)))")
        }
    }

    deinit { close() }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ScratchError(message: "send: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// The next line (without its newline); nil at end of input or when the peer reset the
    /// connection. Throws when nothing arrives within `timeout`.
    func readLine(timeout: Double) throws -> [UInt8]? {
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                return line
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw ScratchError(message: "no line within \(timeout) s (have \(buffer.count) bytes)") }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(left, 1) * 1000))
            if ready <= 0 { continue }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer += chunk[0..<n]
            } else if n == 0 || errno == ECONNRESET {
                return nil
            } else if errno != EINTR && errno != EAGAIN {
                throw ScratchError(message: "recv: \(String(cString: strerror(errno)))")
            }
        }
    }

    func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}
