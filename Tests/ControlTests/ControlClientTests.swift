import Control
import Foundation
import Glibc
import XCTest

/// A listening socket that does what a test asks with each connection, on its own thread.
private final class ScriptedServer: @unchecked Sendable {
    enum Behaviour {
        case neverAccept
        case acceptAndIgnore
        case closeAfterRequest
        case answer(String)
    }

    let dir = ControlTestDir()
    let path: String
    let fd: Int32
    private let done = DispatchSemaphore(value: 0)
    private var started = false

    init(_ behaviour: Behaviour) {
        path = dir.file("fake.sock")
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        listen(fd, 8)
        if case .neverAccept = behaviour { return }
        started = true
        let listener = fd
        let finished = done
        Thread {
            defer { finished.signal() }
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 5000) == 1 else { return }
            let conn = accept(listener, nil, nil)
            guard conn >= 0 else { return }
            defer { close(conn) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            var got: [UInt8] = []
            while !got.contains(UInt8(ascii: "\n")) {
                var cfds = [pollfd(fd: conn, events: Int16(POLLIN), revents: 0)]
                guard poll(&cfds, 1, 5000) == 1 else { return }
                let n = buffer.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { return }
                got += buffer[0..<n]
            }
            switch behaviour {
            case .neverAccept, .closeAfterRequest: return
            case .acceptAndIgnore: usleep(1_000_000)
            case .answer(let text):
                _ = Array(text.utf8).withUnsafeBytes { send(conn, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                usleep(200_000)
            }
        }.start()
    }

    deinit {
        if started { _ = done.wait(timeout: .now() + 10) }
        close(fd)
    }
}

final class ControlClientTests: XCTestCase {
    func testNoSocketSaysBmadIsNotRunning() {
        let dir = ControlTestDir()
        let path = dir.file("bmad.sock")
        XCTAssertThrowsError(try ControlClient(path: path, timeout: 1)) {
            XCTAssertEqual($0 as? ControlClientError, .notRunning(path: path))
            XCTAssertEqual("\($0)", "bmad is not running? no socket at \(path)")
        }
    }

    func testSocketNobodyListensOn() {
        let server = ScriptedServer(.neverAccept)
        close(server.fd)  // the file stays, nothing listens
        XCTAssertThrowsError(try ControlClient(path: server.path, timeout: 1)) {
            XCTAssertEqual($0 as? ControlClientError, .notListening(path: server.path))
            XCTAssertTrue("\($0)".hasPrefix("bmad is not running?"))
        }
    }

    func testPermissionDeniedIsSaid() throws {
        XCTAssertEqual("\(ControlClientError.permissionDenied(path: "/run/bma/bmad.sock"))",
                       "permission denied on /run/bma/bmad.sock: run as root or as a member of the control group")
        guard geteuid() != 0 else { return }  // root passes file permissions
        let h = try ControlServerHarness()
        defer { h.stop() }
        XCTAssertEqual(chmod(h.path, 0), 0)
        XCTAssertThrowsError(try ControlClient(path: h.path, timeout: 1)) {
            XCTAssertEqual($0 as? ControlClientError, .permissionDenied(path: h.path))
        }
    }

    func testIdsIncreaseAndResultsComeBack() throws {
        let h = try ControlServerHarness()
        h.start()
        defer { h.stop() }
        let client = try ControlClient(path: h.path, timeout: 5)
        for i in 1...5 {
            let r = try client.call("echo", params: ["vm": "web1"])
            XCTAssertEqual(r, ["vm": "web1", "id": .number(Double(i))])
        }
    }

    func testDaemonErrorIsThrownExactly() throws {
        let h = try ControlServerHarness()
        h.start()
        defer { h.stop() }
        let client = try ControlClient(path: h.path, timeout: 5)
        for code in ControlErrorCode.allCases {
            let message = "policy 10: \(code.rawValue) ü \"quoted\"\nsecond line"
            XCTAssertThrowsError(try client.call("fail", params: ["code": .string(code.rawValue), "message": .string(message)])) {
                XCTAssertEqual($0 as? ControlError, ControlError(code, message))
            }
        }
        XCTAssertThrowsError(try client.call("no.such")) {
            XCTAssertEqual(($0 as? ControlError)?.code, .methodNotFound)
        }
        XCTAssertEqual(try client.call("echo", params: ["after": true])["after"], true)
    }

    func testBusyAndTooLargeAreThrownAndTheNextCallReconnects() throws {
        let h = try ControlServerHarness(limits: .init(maxConnections: 1))
        h.start()
        defer { h.stop() }
        let first = try ControlClient(path: h.path, timeout: 5)
        XCTAssertNoThrow(try first.call("echo"))
        let second = try ControlClient(path: h.path, timeout: 5)
        XCTAssertThrowsError(try second.call("echo")) { XCTAssertEqual(($0 as? ControlError)?.code, .busy) }

        let huge = JSONValue.string(String(repeating: "z", count: 200_000))
        XCTAssertThrowsError(try first.call("echo", params: ["baseline": huge])) {
            XCTAssertEqual(($0 as? ControlError)?.code, .requestTooLarge)
        }
        XCTAssertTrue(h.wait { _ in h.connectionCount == 0 })
        XCTAssertNoThrow(try second.call("echo"), "the slot is free and the client connects again")
    }

    func testConnectionClosedByIdleTimeoutIsReplaced() throws {
        let h = try ControlServerHarness(limits: .init(idleSeconds: 0.2))
        h.start()
        defer { h.stop() }
        let client = try ControlClient(path: h.path, timeout: 5)
        XCTAssertNoThrow(try client.call("echo"))
        XCTAssertTrue(h.wait { $0.idleClosed == 1 })
        XCTAssertEqual(try client.call("echo", params: ["again": 1])["again"], 1)
        XCTAssertEqual(h.counters.accepted, 2)
    }

    func testTimeout() throws {
        for behaviour in [ScriptedServer.Behaviour.neverAccept, .acceptAndIgnore] {
            let server = ScriptedServer(behaviour)
            let client = try ControlClient(path: server.path, timeout: 0.3)
            let start = Date()
            XCTAssertThrowsError(try client.call("status")) {
                XCTAssertEqual($0 as? ControlClientError, .timedOut(method: "status", seconds: 0.3))
            }
            let elapsed = Date().timeIntervalSince(start)
            XCTAssertGreaterThanOrEqual(elapsed, 0.25)
            XCTAssertLessThan(elapsed, 3)
        }
    }

    func testClosedWithoutAnswer() throws {
        let server = ScriptedServer(.closeAfterRequest)
        let client = try ControlClient(path: server.path, timeout: 5)
        XCTAssertThrowsError(try client.call("status")) {
            XCTAssertEqual($0 as? ControlClientError, .connectionClosed(method: "status"))
        }
    }

    func testMalformedAnswers() throws {
        for answer in ["hello\n", "{\"id\":99,\"result\":1}\n", "{\"id\":1,\"error\":{\"code\":\"weird\",\"message\":\"m\"}}\n"] {
            let server = ScriptedServer(.answer(answer))
            let client = try ControlClient(path: server.path, timeout: 5)
            XCTAssertThrowsError(try client.call("status"), answer) {
                guard case .malformedResponse? = $0 as? ControlClientError else { return XCTFail("\($0)") }
            }
        }
        let server = ScriptedServer(.answer("{\"id\":null,\"error\":{\"code\":\"parse-error\",\"message\":\"m\"}}\n"))
        let client = try ControlClient(path: server.path, timeout: 5)
        XCTAssertThrowsError(try client.call("status")) {
            XCTAssertEqual($0 as? ControlError, ControlError(.parseError, "m"), "an error with a null id answers the call")
        }
    }
}
