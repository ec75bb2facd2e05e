import Foundation

/// Where the console listens: `HOST:PORT` (`[::1]:PORT` for IPv6), or `off`.
public struct ConsoleListen: Sendable, Equatable, CustomStringConvertible {
    public static let defaultPort = 9467
    public static let defaultText = "127.0.0.1:\(defaultPort)"

    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// nil for `off`; throws a message naming what is wrong.
    public static func parse(_ text: String) throws(ConsoleError) -> ConsoleListen? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.lowercased() == "off" { return nil }
        let host: Substring
        let portText: Substring
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]"), t[t.index(after: close)...].hasPrefix(":") else {
                throw ConsoleError("'\(text)': expected [IPv6]:PORT, HOST:PORT or off")
            }
            host = t[t.index(after: t.startIndex)..<close]
            portText = t[t.index(close, offsetBy: 2)...]
        } else {
            guard let colon = t.lastIndex(of: ":"), t.firstIndex(of: ":") == colon else {
                throw ConsoleError("'\(text)': expected HOST:PORT (127.0.0.1:\(defaultPort)), [IPv6]:PORT or off")
            }
            host = t[..<colon]
            portText = t[t.index(after: colon)...]
        }
        guard !host.isEmpty else { throw ConsoleError("'\(text)': no host (127.0.0.1:\(defaultPort), 0.0.0.0:\(defaultPort))") }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw ConsoleError("'\(text)': '\(portText)' is not a port (0-65535)")
        }
        guard host == "localhost" || Self.isIPv4(String(host)) || Self.isIPv6(String(host)) else {
            throw ConsoleError("'\(text)': '\(host)' is not an IP address or localhost")
        }
        return ConsoleListen(host: String(host), port: port)
    }

    /// Only this host can reach it: localhost, 127.0.0.0/8, ::1.
    public var isLoopback: Bool {
        if host == "localhost" || host == "::1" { return true }
        return Self.isIPv4(host) && host.hasPrefix("127.")
    }

    /// What to bind (Hummingbird resolves `localhost` to IPv6 first on some hosts).
    var bindHost: String { host == "localhost" ? "127.0.0.1" : host }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func isIPv4(_ s: String) -> Bool {
        var a = in_addr()
        return inet_pton(AF_INET, s, &a) == 1
    }

    static func isIPv6(_ s: String) -> Bool {
        var a = in6_addr()
        return inet_pton(AF_INET6, s, &a) == 1
    }
}

/// A console setting or request that cannot be served; the message names the value.
public struct ConsoleError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
