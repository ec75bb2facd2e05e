#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Human-readable capture times.
enum TimestampFormatting {
    /// "2021-03-08 15:22:15.831389000 UTC" for nanoseconds since the epoch.
    static func utc(_ nanoseconds: UInt64) -> String {
        var seconds = time_t(nanoseconds / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let fraction = String(nanoseconds % 1_000_000_000)
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))."
            + String(repeating: "0", count: 9 - fraction.count) + fraction + " UTC"
    }

    /// "605453.536886000 s (7.01 days)".
    static func duration(_ nanoseconds: UInt64) -> String {
        let fraction = String(nanoseconds % 1_000_000_000)
        let text = "\(nanoseconds / 1_000_000_000)." + String(repeating: "0", count: 9 - fraction.count) + fraction + " s"
        let days = Double(nanoseconds) / 86_400e9
        return days >= 1 ? text + " (\(String(format2: days)) days)" : text
    }

    private static func two(_ value: Int32) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}

extension String {
    /// Two decimals without Foundation's locale-dependent formatting.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let cents = hundredths % 100
        self = "\(hundredths / 100).\(cents < 10 ? "0" : "")\(cents)"
    }
}
