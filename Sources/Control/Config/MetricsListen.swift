import BMAContract

/// `metrics.listen`: "ADDRESS:PORT", checked when the file is read (before EAL starts) rather
/// than when the listener binds. ADDRESS is an IPv4 address, `localhost` or empty (both
/// 127.0.0.1); the result is always "A.B.C.D:PORT".
enum MetricsListen {
    static func parse(_ text: String) throws(ConfigError) -> String {
        let field = "metrics.listen"
        guard let colon = text.lastIndex(of: ":") else {
            throw ConfigError(field: field, "'\(text)' is not ADDRESS:PORT (e.g. 127.0.0.1:9465)")
        }
        let host = text[..<colon], portText = text[text.index(after: colon)...]
        guard let port = UInt16(portText), port > 0 else {
            throw ConfigError(field: field, "'\(text)': port '\(portText)' is not 1-65535")
        }
        if host.isEmpty || host == "localhost" { return "127.0.0.1:\(port)" }
        guard let ip = IPv4Text.parse(host) else {
            throw ConfigError(field: field, "'\(text)': '\(host)' is not an IPv4 address (or localhost); host names are not resolved")
        }
        return "\(IPv4Text.format(ip)):\(port)"
    }
}
