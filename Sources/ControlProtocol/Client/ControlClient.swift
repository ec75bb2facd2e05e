import Glibc

/// A blocking client of bmad's control socket, for bmactl and the analyzer.
///
/// `call` sends one request line with the next id and waits for its response line. An error
/// response is thrown as `ControlError` with the daemon's code and message; a failure to get an
/// answer is a `ControlClientError`. After a failure the connection is dropped and the next call
/// connects again; a connection the daemon closed for idleness is replaced transparently.
public final class ControlClient {
    public static let defaultPath = "/run/bma/bmad.sock"
    /// Responses longer than this are refused (protects the client from a runaway answer).
    public static let maxResponseBytes = 256 << 20

    public let path: String
    /// Seconds allowed for connecting, and for each call.
    public let timeout: Double

    private var fd: Int32 = -1
    private var nextID = 1
    private var received: [UInt8] = []

    /// Connects to the socket at `path`.
    public init(path: String = ControlClient.defaultPath, timeout: Double = 10) throws(ControlClientError) {
        self.path = path
        self.timeout = timeout
        try connect(deadline: MonotonicClock.now() + timeout)
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { UnixSocket.close(fd) }
        fd = -1
        received.removeAll()
    }

    /// Sends `method` with `params` and returns the result. Throws `ControlError` for an error
    /// response, `ControlClientError` when no answer arrives.
    public func call(_ method: String, params: [String: JSONValue] = [:]) throws -> JSONValue {
        let deadline = MonotonicClock.now() + timeout
        if fd >= 0 && peerHasClosed() { close() }
        if fd < 0 { try connect(deadline: deadline) }

        let id = nextID
        nextID += 1
        let response: ControlResponse
        do {
            response = try exchange(ControlRequest(id: .number(Double(id)), method: method, params: params),
                                    deadline: deadline)
        } catch {
            close()
            throw error
        }
        switch response.outcome {
        case .success(let result):
            guard response.id == .number(Double(id)) else {
                close()
                throw ControlClientError.malformedResponse("answer to request \(id) has id \(response.id ?? .null)")
            }
            return result
        case .failure(let error):
            // An error with a null id answers a request (or connection) the daemon could not read.
            guard response.id == nil || response.id == .number(Double(id)) else {
                close()
                throw ControlClientError.malformedResponse("answer to request \(id) has id \(response.id ?? .null)")
            }
            if [.busy, .permissionDenied, .requestTooLarge].contains(error.code) { close() }
            throw error
        }
    }

    // MARK: connection

    private func connect(deadline: Double) throws(ControlClientError) {
        let socket: Int32
        do { socket = try UnixSocket.socket() } catch { throw .io(error) }
        while true {
            do {
                if try UnixSocket.connect(socket, path: path) { break }
            } catch {
                UnixSocket.close(socket)
                switch error.code {
                case ENOENT: throw .notRunning(path: path)
                case ECONNREFUSED: throw .notListening(path: path)
                case EACCES, EPERM: throw .permissionDenied(path: path)
                default: throw .connectFailed(path: path, error)
                }
            }
            // The listener's backlog is full: try again until the deadline.
            if MonotonicClock.now() >= deadline {
                UnixSocket.close(socket)
                throw .timedOut(method: "connect", seconds: timeout)
            }
            usleep(5_000)
        }
        fd = socket
        received.removeAll()
    }

    /// Whether the daemon has closed this connection (idle timeout) while nobody was asking.
    private func peerHasClosed() -> Bool {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        guard (try? UnixSocket.poll(&fds, timeoutMs: 0)) == 1 else { return false }
        var byte: UInt8 = 0
        switch withUnsafeMutableBytes(of: &byte, { UnixSocket.receive(fd, into: $0, peek: true) }) {
        case .endOfFile, .failed: return true
        case .transferred, .wouldBlock: return false  // an unsolicited line (busy...) is read as the answer
        }
    }

    private func exchange(_ request: ControlRequest, deadline: Double) throws -> ControlResponse {
        let method = request.method
        let line = request.encodedLine()
        var sent = 0
        var peerGone = false
        while sent < line.count && !peerGone {
            let result = line.withUnsafeBytes { UnixSocket.send(fd, UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            switch result {
            case .transferred(let n): sent += n
            case .wouldBlock, .endOfFile:
                // The daemon may have stopped reading to refuse this request: see what it said.
                if let response = try readResponse(method: method, deadline: deadline, untilWritable: true) {
                    return response
                }
            case .failed(let code) where code == EPIPE || code == ECONNRESET:
                peerGone = true
            case .failed(let code):
                throw ControlClientError.io(SocketError("send", path, code: code))
            }
        }
        // After EPIPE the daemon may still have left its refusal (busy, too large) to read.
        guard let response = try readResponse(method: method, deadline: deadline, untilWritable: false) else {
            throw ControlClientError.connectionClosed(method: method)
        }
        return response
    }

    /// Reads one response line. With `untilWritable`, returns nil as soon as the socket can be
    /// written again without a line having arrived.
    private func readResponse(method: String, deadline: Double, untilWritable: Bool) throws -> ControlResponse? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = received.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(received[..<newline])
                received.removeSubrange(...newline)
                do {
                    return try ControlResponse(line: line)
                } catch {
                    throw ControlClientError.malformedResponse(error.message)
                }
            }
            if received.count > Self.maxResponseBytes {
                throw ControlClientError.malformedResponse("response longer than \(Self.maxResponseBytes) bytes")
            }
            let remaining = deadline - MonotonicClock.now()
            if remaining <= 0 { throw ControlClientError.timedOut(method: method, seconds: timeout) }
            var events = Int16(POLLIN)
            if untilWritable { events |= Int16(POLLOUT) }
            var fds = [pollfd(fd: fd, events: events, revents: 0)]
            let ms = MonotonicClock.milliseconds(remaining)
            do { _ = try UnixSocket.poll(&fds, timeoutMs: ms) } catch { throw ControlClientError.io(error) }
            let revents = fds[0].revents
            if revents == 0 { continue }
            if revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                switch chunk.withUnsafeMutableBytes({ UnixSocket.receive(fd, into: $0) }) {
                case .transferred(let n): received.append(contentsOf: chunk[0..<n])
                case .wouldBlock: break
                case .endOfFile: if untilWritable { return nil } else { throw ControlClientError.connectionClosed(method: method) }
                case .failed(let code) where code == ECONNRESET:
                    if untilWritable { return nil } else { throw ControlClientError.connectionClosed(method: method) }
                case .failed(let code): throw ControlClientError.io(SocketError("recv", path, code: code))
                }
            } else if untilWritable && revents & Int16(POLLOUT) != 0 {
                return nil
            }
        }
    }
}
