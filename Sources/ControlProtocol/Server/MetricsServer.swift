#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.0 listener for Prometheus scrapes (bmad, bma-analyzer) (`GET /metrics`), stepped from the main
/// loop: non-blocking, one short response per connection, bounded request size and count.
public final class MetricsServer {
    public struct SetupError: Error, CustomStringConvertible { public var description: String }

    private let fd: Int32
    private var clients: [(fd: Int32, buffer: [UInt8], since: Double)] = []
    private static let maxClients = 16
    private static let maxRequest = 8192

    /// `listen` is "ADDRESS:PORT" (IPv4 or localhost); the default address is 127.0.0.1.
    public init(listen: String) throws(SetupError) {
        let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = UInt16(parts[1]) else {
            throw SetupError(description: "'\(listen)' is not ADDRESS:PORT")
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        let host = parts[0].isEmpty || parts[0] == "localhost" ? "127.0.0.1" : String(parts[0])
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            throw SetupError(description: "'\(host)' is not an IPv4 address (or localhost)")
        }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SetupError(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, Glibc.listen(fd, 16) == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw SetupError(description: "cannot listen on \(host):\(port): \(e)")
        }
    }

    deinit {
        for c in clients { close(c.fd) }
        close(fd)
    }

    /// Accepts, reads and answers without blocking. `render` is called only when a full
    /// `GET /metrics` request arrived.
    public func step(now: Double, render: () -> String) {
        while clients.count < MetricsServer.maxClients {
            let c = accept(fd, nil, nil)
            if c < 0 { break }
            _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            clients.append((c, [], now))
        }
        var keep: [(fd: Int32, buffer: [UInt8], since: Double)] = []
        for var c in clients {
            var chunk = [UInt8](repeating: 0, count: 2048)
            var gone = false
            switch chunk.withUnsafeMutableBytes({ UnixSocket.receive(c.fd, into: $0) }) {
            case .transferred(let n): c.buffer += chunk[0..<n]
            case .wouldBlock: break
            case .endOfFile, .failed: gone = true
            }
            let text = String(decoding: c.buffer, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") ?? text.range(of: "\n\n") {
                let line = text[..<end.lowerBound].split(separator: "\n").first ?? ""
                let fields = line.split(separator: " ")
                if fields.count >= 2 && fields[0] == "GET" && (fields[1] == "/metrics" || fields[1].hasPrefix("/metrics?")) {
                    respond(c.fd, "200 OK", "text/plain; version=0.0.4", render())
                } else {
                    respond(c.fd, "404 Not Found", "text/plain", "only /metrics is served here\n")
                }
                close(c.fd)
            } else if gone || c.buffer.count > MetricsServer.maxRequest || now - c.since > 5 {
                close(c.fd)
            } else {
                keep.append(c)
            }
        }
        clients = keep
    }

    private func respond(_ fd: Int32, _ status: String, _ type: String, _ body: String) {
        let bytes = Array(("HTTP/1.0 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8)
        var off = 0
        var spins = 0
        // Best effort within a few milliseconds: a scraper that does not read is dropped.
        while off < bytes.count && spins < 200 {
            switch bytes[off...].withUnsafeBytes({ UnixSocket.send(fd, $0) }) {
            case .transferred(let n) where n > 0: off += n
            case .wouldBlock:
                spins += 1
                usleep(50)
            case .transferred, .endOfFile, .failed: return
            }
        }
    }
}
