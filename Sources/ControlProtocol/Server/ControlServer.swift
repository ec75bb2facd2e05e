import Glibc

/// The control socket of bmad: one JSON request per line, one response per line
/// (docs/control-protocol.md).
///
/// Single-threaded and non-blocking: bmad's main loop calls `step` regularly; each step waits
/// in poll() for at most `timeoutMs`, accepts, reads, answers through the handler and writes
/// what the sockets take, keeping the rest for later. No client can block the loop.
public final class ControlServer {
    public let path: String
    public let limits: Limits
    public let access: GroupAccess
    public private(set) var counters = Counters()

    private var listener: Int32
    private var connections: [ControlConnection] = []
    private var socketIdentity: (dev: UInt64, ino: UInt64)?
    /// After the process runs out of descriptors, accepting waits a little instead of spinning.
    private var acceptPausedUntil: Double = 0
    private var readBuffer = [UInt8](repeating: 0, count: 65536)

    /// Requests answered per connection per step, so one client cannot hold the loop.
    static let requestsPerStep = 64
    static let acceptsPerStep = 16

    /// Creates the socket at `path` (replacing a stale socket file nothing listens on), with mode
    /// 0660 and group `group` (nil: the daemon's own group), and listens.
    public init(path: String, group: String? = nil, limits: Limits = Limits()) throws(ControlServerError) {
        self.path = path
        self.limits = limits
        self.access = try GroupAccess.resolve(group)
        do { _ = try UnixSocket.address(path) } catch { throw .system(error) }
        try SocketFile.removeStale(path)

        let fd: Int32
        do { fd = try UnixSocket.socket() } catch { throw .system(error) }
        do {
            try UnixSocket.bind(fd, path: path)
        } catch {
            UnixSocket.close(fd)
            if error.code == EADDRINUSE { throw .alreadyRunning(path: path) }
            throw .system(error)
        }
        var failure: ControlServerError?
        do { try SocketFile.setAccess(path, gid: access.gid) } catch { failure = error }
        if failure == nil {
            do { try UnixSocket.listen(fd, backlog: 64) } catch { failure = .system(error) }
        }
        if let failure {
            UnixSocket.close(fd)
            try? UnixSocket.unlink(path)
            throw failure
        }
        listener = fd
        socketIdentity = SocketFile.identity(path)
    }

    deinit { close() }

    /// Connections currently served.
    public var connectionCount: Int { connections.count }

    public var isOpen: Bool { listener >= 0 }

    /// Serves for up to `timeoutMs` (negative: until something happens): accepts connections,
    /// answers every complete request line through `handler`, in order per connection, and
    /// closes idle connections and those whose request passed its deadline.
    public func step(timeoutMs: Int32, handler: (ControlRequest, Peer) -> Result<JSONValue, ControlError>) {
        guard listener >= 0 else { return }
        var now = MonotonicClock.now()
        let watchListener = now >= acceptPausedUntil

        var fds: [pollfd] = []
        fds.reserveCapacity(connections.count + 1)
        fds.append(pollfd(fd: watchListener ? listener : -1, events: Int16(POLLIN), revents: 0))
        for c in connections {
            var events: Int16 = 0
            if !c.readClosed && !c.input.hasLine() { events |= Int16(POLLIN) }
            if !c.output.isEmpty { events |= Int16(POLLOUT) }
            fds.append(pollfd(fd: c.fd, events: events, revents: 0))
        }
        let ready = (try? UnixSocket.poll(&fds, timeoutMs: pollTimeout(timeoutMs, now: now))) ?? 0

        now = MonotonicClock.now()
        for (i, c) in connections.enumerated() {
            let revents = ready > 0 ? fds[i + 1].revents : 0
            service(c, revents: revents, now: now, handler: handler)
        }
        if ready > 0 && fds[0].revents != 0 { acceptConnections(now: now) }
        closeExpired(now: MonotonicClock.now())
        connections.removeAll { $0.isClosed }
    }

    /// Closes every connection and the socket, and removes the socket file (if it is still ours).
    public func close() {
        for c in connections { closeConnection(c) }
        connections.removeAll()
        guard listener >= 0 else { return }
        UnixSocket.close(listener)
        listener = -1
        if let mine = socketIdentity, let now = SocketFile.identity(path), mine == now {
            try? UnixSocket.unlink(path)
        }
    }

    // MARK: stepping

    /// The poll timeout: the caller's, shortened to the next idle or request deadline, zero when
    /// requests are already waiting in a buffer.
    private func pollTimeout(_ requested: Int32, now: Double) -> Int32 {
        var timeout = requested
        func cap(_ ms: Int32) { timeout = timeout < 0 ? ms : min(timeout, ms) }
        for c in connections {
            if (!c.closeAfterFlush && c.input.hasLine()) || c.isFinished {
                cap(0)
                continue
            }
            cap(MonotonicClock.milliseconds(deadline(of: c) - now))
        }
        if acceptPausedUntil > now { cap(MonotonicClock.milliseconds(acceptPausedUntil - now)) }
        return timeout
    }

    private func service(_ c: ControlConnection, revents: Int16, now: Double,
                         handler: (ControlRequest, Peer) -> Result<JSONValue, ControlError>) {
        if revents & Int16(POLLNVAL) != 0 {
            closeConnection(c)
            return
        }
        if !c.readClosed && revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 && !c.input.hasLine() {
            receive(c, now: now)
            if c.isClosed { return }
        }
        let answered = answer(c, now: now, handler: handler)
        if c.isClosed { return }
        flush(c, now: now)
        if c.isClosed { return }
        if c.isFinished {
            closeConnection(c)
        } else if c.busySince != nil && c.input.pendingCount == 0 && c.output.isEmpty {
            c.busySince = nil // the request is done: the idle clock runs from here
            c.lastActivity = now
        } else if answered > 0 {
            c.busySince = now // the next request's clock starts when this one is answered
        }
    }

    /// When `c` is closed unless something completes: its request deadline while a request is in
    /// progress, else its idle deadline.
    private func deadline(of c: ControlConnection) -> Double {
        if let busy = c.busySince { return busy + limits.requestSeconds }
        return c.lastActivity + limits.idleSeconds
    }

    private func receive(_ c: ControlConnection, now: Double) {
        let result = readBuffer.withUnsafeMutableBytes { UnixSocket.receive(c.fd, into: $0) }
        switch result {
        case .transferred(let n):
            readBuffer.withUnsafeBytes { c.input.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            if c.busySince == nil { c.busySince = now }
        case .endOfFile:
            c.readClosed = true
        case .wouldBlock:
            break
        case .failed:
            closeConnection(c)
        }
    }

    /// Answers the complete lines waiting on `c`, and at end of input a last unterminated one.
    @discardableResult
    private func answer(_ c: ControlConnection, now: Double,
                        handler: (ControlRequest, Peer) -> Result<JSONValue, ControlError>) -> Int {
        var answered = 0
        while !c.isClosed && !c.closeAfterFlush && answered < Self.requestsPerStep, let line = c.input.nextLine() {
            answered += 1
            switch line {
            case .line(let bytes):
                respond(c, to: bytes, now: now, handler: handler)
            case .tooLarge:
                counters.requests += 1
                queue(ControlResponse(id: nil, error: ControlError(
                    .requestTooLarge, "request line longer than \(limits.maxRequestBytes) bytes")), on: c, now: now)
                c.input = ConnectionBuffer(maxLineBytes: 0)
                c.closeAfterFlush = true
                c.readClosed = true
            }
        }
        if c.readClosed && !c.isClosed && !c.closeAfterFlush && answered < Self.requestsPerStep && !c.input.hasLine() {
            let rest = c.input.takeRemainder()
            if rest.contains(where: { !Self.isWhitespace($0) }) {
                respond(c, to: rest, now: now, handler: handler)
                answered += 1
            }
        }
        return answered
    }

    private static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }

    private func respond(_ c: ControlConnection, to line: [UInt8], now: Double,
                         handler: (ControlRequest, Peer) -> Result<JSONValue, ControlError>) {
        counters.requests += 1
        let response: ControlResponse
        do {
            let request = try ControlRequest(line: line)
            response = ControlResponse(id: request.id, outcome: handler(request, c.peer))
        } catch {
            response = error.response
        }
        queue(response, on: c, now: now)
    }

    /// Adds a response to the connection's output. When the unread output would pass
    /// `maxOutputBytes`, what the socket takes is written first; a client still over the limit
    /// is not reading, and is dropped.
    private func queue(_ response: ControlResponse, on c: ControlConnection, now: Double) {
        if case .failure(let e) = response.outcome { counters.errors[e.code, default: 0] += 1 }
        let line = response.encodedLine()
        if !c.output.isEmpty && c.output.count + line.count > limits.maxOutputBytes {
            flush(c, now: now)
            if c.isClosed { return }
            if !c.output.isEmpty && c.output.count + line.count > limits.maxOutputBytes {
                counters.dropped += 1
                closeConnection(c)
                return
            }
        }
        c.output.append(line)
    }

    /// Writes what the socket takes now; the rest waits for POLLOUT.
    private func flush(_ c: ControlConnection, now: Double) {
        var failed = false
        while !c.output.isEmpty && !failed {
            var wrote = 0
            _ = c.output.drain { bytes in
                switch UnixSocket.send(c.fd, bytes) {
                case .transferred(let n): wrote = n; return n
                case .wouldBlock, .endOfFile: return 0
                case .failed: failed = true; return 0
                }
            }
            if wrote == 0 { break }
        }
        if failed { closeConnection(c) }
    }

    private func closeExpired(now: Double) {
        for c in connections where !c.isClosed && now >= deadline(of: c) {
            if c.busySince != nil { counters.timedOut += 1 } else { counters.idleClosed += 1 }
            closeConnection(c)
        }
    }

    private func closeConnection(_ c: ControlConnection) {
        guard !c.isClosed else { return }
        c.isClosed = true
        UnixSocket.close(c.fd)
    }

    // MARK: accepting

    private func acceptConnections(now: Double) {
        for _ in 0..<Self.acceptsPerStep {
            let fd: Int32
            do {
                guard let accepted = try UnixSocket.accept(listener) else { return }
                fd = accepted
            } catch {
                // Out of descriptors or memory: the listener stays readable, so wait a little.
                acceptPausedUntil = now + 0.1
                return
            }
            admit(fd, now: now)
        }
    }

    private func admit(_ fd: Int32, now: Double) {
        let peer: Peer
        do {
            try UnixSocket.setNonBlocking(fd)
            try UnixSocket.setCloseOnExec(fd)
            peer = try UnixSocket.peerCredentials(fd)
        } catch {
            counters.rejected += 1
            UnixSocket.close(fd)
            return
        }
        if !access.allows(peer) {
            refuse(fd, ControlError(.permissionDenied,
                "uid \(peer.uid) may not use the control socket (root, uid \(access.ownUID) or group \(access.groupName) only)"))
        } else if let full = admissionRefusal(peer) {
            refuse(fd, ControlError(.busy, full))
        } else {
            counters.accepted += 1
            connections.append(ControlConnection(fd: fd, peer: peer, maxLineBytes: limits.maxRequestBytes, now: now))
        }
    }

    /// Why `peer` cannot have one more connection now, or nil. Root may take every slot; any
    /// other uid neither the slots kept for root nor more than its own share, so that a few
    /// idle or trickling clients of one user cannot lock everybody out.
    private func admissionRefusal(_ peer: Peer) -> String? {
        let open = connections.lazy.filter { !$0.isClosed }
        let total = open.count
        if total >= limits.maxConnections {
            return "too many connections (\(limits.maxConnections)); try again later"
        }
        guard peer.uid != 0 else { return nil }
        if total >= limits.maxConnections - limits.reservedForRoot {
            return "too many connections (\(total) of \(limits.maxConnections), the rest kept for root); try again later"
        }
        let mine = open.filter { $0.peer.uid == peer.uid }.count
        if mine >= limits.maxConnectionsPerUID {
            return "uid \(peer.uid) has \(mine) connections, the most one user may hold; try again later"
        }
        return nil
    }

    /// Answers a refused connection with one error line (best effort: the socket buffer of a
    /// new connection is empty) and closes it.
    private func refuse(_ fd: Int32, _ error: ControlError) {
        counters.rejected += 1
        counters.errors[error.code, default: 0] += 1
        let line = ControlResponse(id: nil, error: error).encodedLine()
        _ = line.withUnsafeBytes { UnixSocket.send(fd, $0) }
        UnixSocket.close(fd)
    }
}
