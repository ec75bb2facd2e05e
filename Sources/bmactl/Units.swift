/// Human units for tables: counts 1.2k / 3.4M, rates 1.2k/s, bytes 3.4 MB, durations 1h 2m 3s.
enum Units {
    /// An exact integer without a fraction, otherwise the shortest decimal text.
    static func plain(_ d: Double) -> String {
        if d.isFinite, d.rounded() == d, abs(d) < 9.0e15 { return String(Int64(d)) }
        return d.isFinite ? "\(d)" : "-"
    }

    /// 999, 1.2k, 12.3k, 123k, 1.2M... (decimal multiples).
    static func count(_ d: Double) -> String {
        guard d.isFinite else { return "-" }
        if abs(d) < 1000 {
            if d.rounded() == d { return String(Int64(d)) }
            if abs(d) < 10 { return format(d, decimals: 2) }
            return abs(d) < 100 ? format(d, decimals: 1) : String(Int64(d.rounded()))
        }
        return scaled(d, units: ["k", "M", "G", "T", "P", "E"], separator: "")
    }

    static func rate(_ d: Double) -> String { count(d) + "/s" }

    /// 512 B, 3.4 kB, 12.3 MB, 123 GB (decimal multiples).
    static func bytes(_ d: Double) -> String {
        guard d.isFinite else { return "-" }
        if abs(d) < 1000 { return plain(d.rounded()) + " B" }
        return scaled(d, units: ["kB", "MB", "GB", "TB", "PB", "EB"], separator: " ")
    }

    static func byteRate(_ d: Double) -> String { bytes(d) + "/s" }

    private static func scaled(_ d: Double, units: [String], separator: String) -> String {
        var v = d / 1000
        var i = 0
        while abs(v) >= 999.95 && i < units.count - 1 {
            v /= 1000
            i += 1
        }
        let text = abs(v) < 99.95 ? format(v, decimals: 1) : String(Int64(v.rounded()))
        return text + separator + units[i]
    }

    /// `d` with a fixed number of decimals (no Foundation formatting needed).
    static func format(_ d: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let n = Int64((abs(d) * scale).rounded())
        let whole = n / Int64(scale)
        let frac = n % Int64(scale)
        var text = String(whole)
        if decimals > 0 {
            let f = String(frac)
            text += "." + String(repeating: "0", count: decimals - f.count) + f
        }
        return (d < 0 && n != 0 ? "-" : "") + text
    }

    /// 42s, 5m 3s, 1h 2m 3s, 3d 4h 5m.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        if seconds < 60 { return seconds < 10 && seconds.rounded() != seconds ? format(seconds, decimals: 1) + "s" : "\(Int(seconds))s" }
        let s = Int(seconds)
        let d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60
        if d > 0 { return "\(d)d \(h)h \(m)m" }
        if h > 0 { return "\(h)h \(m)m \(sec)s" }
        return "\(m)m \(sec)s"
    }
}
