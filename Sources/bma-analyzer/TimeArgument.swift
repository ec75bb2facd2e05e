import Foundation

/// Times on the command line: Unix seconds, RFC 3339 / ISO 8601, or relative to now
/// ("-15m", "-2h", "-1d", "-30s").
enum TimeArgument {
    static func nanoseconds(_ text: String, now: Date = Date()) -> UInt64? {
        if let s = Double(text), s >= 0 { return UInt64(s * 1e9) }
        if text.hasPrefix("-"), let unit = text.last, let n = Double(text.dropFirst().dropLast()), n >= 0 {
            let scale: Double? = ["s": 1, "m": 60, "h": 3600, "d": 86400][unit]
            if let scale { return UInt64(max(0, now.timeIntervalSince1970 - n * scale) * 1e9) }
        }
        let f = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            f.formatOptions = options
            if let d = f.date(from: text) { return UInt64(d.timeIntervalSince1970 * 1e9) }
        }
        return nil
    }
}
