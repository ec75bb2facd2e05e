import Control
import Foundation
import Glibc
import XCTest

/// A temporary directory, removed with everything in it.
final class ControlTestDir {
    let path: String

    init(mode: mode_t = 0o755) {
        var template = Array("/tmp/bma-ctl-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        chmod(path, mode)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The handler the server tests use:
/// - `echo`: returns the params, plus the request id as `id`
/// - `big`: returns a string of `bytes` x's
/// - `fail`: answers the error `code` with `message`
/// - anything else: method-not-found
func controlStubHandler(_ request: ControlRequest, _ peer: Peer) -> Result<JSONValue, ControlError> {
    let params = Params(request.params)
    switch request.method {
    case "echo":
        var result = request.params
        result["id"] = request.id ?? .null
        return .success(.object(result))
    case "whoami":
        return .success(["uid": .number(Double(peer.uid)), "gid": .number(Double(peer.gid)), "pid": .number(Double(peer.pid))])
    case "big":
        do {
            let n = try params.int("bytes", in: 0...(16 << 20))
            return .success(.string(String(repeating: "x", count: n)))
        } catch {
            return .failure(error)
        }
    case "fail":
        let code = ControlErrorCode(rawValue: request.params["code"]?.stringValue ?? "") ?? .internal
        return .failure(ControlError(code, request.params["message"]?.stringValue ?? ""))
    default:
        return .failure(.methodNotFound(request.method))
    }
}

/// A ControlServer stepped on its own thread until `stop()`.
final class ControlServerHarness: @unchecked Sendable {
    let dir: ControlTestDir
    let path: String
    private let server: ControlServer
    private let lock = NSLock()
    private var stopping = false
    private var latest = ControlServer.Counters()
    private var latestConnections = 0
    private let finished = DispatchSemaphore(value: 0)
    private var running = false

    init(limits: ControlServer.Limits = .init(), group: String? = nil, dir: ControlTestDir = ControlTestDir(),
         name: String = "bmad.sock") throws {
        self.dir = dir
        path = dir.file(name)
        server = try ControlServer(path: path, group: group, limits: limits)
    }

    func start() {
        running = true
        let thread = Thread { [self] in
            while !isStopping {
                server.step(timeoutMs: 20, handler: controlStubHandler)
                publish()
            }
            finished.signal()
        }
        thread.stackSize = 4 << 20
        thread.start()
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func publish() {
        lock.lock()
        latest = server.counters
        latestConnections = server.connectionCount
        lock.unlock()
    }

    var counters: ControlServer.Counters {
        lock.lock()
        defer { lock.unlock() }
        return latest
    }

    var connectionCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return latestConnections
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        if running {
            XCTAssertEqual(finished.wait(timeout: .now() + 10), .success, "server thread did not stop")
            running = false
        }
        server.close()
    }

    deinit { if running || server.isOpen { stop() } }

    /// Waits (bounded) until `condition` holds on the published counters.
    @discardableResult
    func wait(upTo seconds: Double = 5, until condition: (ControlServer.Counters) -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition(counters) { return true }
            usleep(5_000)
        }
        return condition(counters)
    }
}

/// A deliberately low-level client: raw bytes in, raw lines out, every wait bounded.
final class ControlRawClient {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let code = errno
            Glibc.close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
    }

    deinit { Glibc.close(fd) }

    /// Writes everything (bounded by `seconds`); false when the peer is gone or time ran out.
    @discardableResult
    func send(_ bytes: [UInt8], seconds: Double = 5) -> Bool {
        var sent = 0
        let end = Date().addingTimeInterval(seconds)
        while sent < bytes.count {
            var fds = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)]
            let ms = Int32(max(0, end.timeIntervalSinceNow * 1000))
            guard poll(&fds, 1, ms) > 0 else { return false }
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                return false
            }
            sent += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    enum ReadResult: Equatable {
        case line(String)
        case closed
        case timedOut
    }

    /// The next line, or `.closed` at end of input (or reset), or `.timedOut`.
    func readLine(seconds: Double = 5) -> ReadResult {
        let end = Date().addingTimeInterval(seconds)
        while true {
            if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<i], as: UTF8.self)
                buffer.removeSubrange(...i)
                return .line(line)
            }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            let ms = Int32(max(0, end.timeIntervalSinceNow * 1000))
            if poll(&fds, 1, ms) <= 0 { return .timedOut }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 { return .closed }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                return .closed
            }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// The next line parsed as a response; fails the test otherwise.
    func readResponse(seconds: Double = 5, file: StaticString = #filePath, line: UInt = #line) -> ControlResponse? {
        switch readLine(seconds: seconds) {
        case .line(let text):
            do {
                return try ControlResponse(line: Array(text.utf8))
            } catch {
                XCTFail("not a response: \(text) (\(error))", file: file, line: line)
                return nil
            }
        case let other:
            XCTFail("expected a response line, got \(other)", file: file, line: line)
            return nil
        }
    }
}

/// The error code of a response, or nil for a result.
func controlErrorCode(_ response: ControlResponse?) -> ControlErrorCode? {
    guard let response, case .failure(let e) = response.outcome else { return nil }
    return e.code
}

/// Runs a program and returns its exit status and output (bounded by `seconds`).
func runControlTestProgram(_ program: String, _ arguments: [String], seconds: Double = 20) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: "/")
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let end = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < end { usleep(10_000) }
    if process.isRunning {
        process.terminate()
        process.waitUntilExit()
        return (-1, "timed out")
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
