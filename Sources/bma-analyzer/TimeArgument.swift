import Foundation

/// Times on the command line: Unix seconds; RFC 3339 with or without seconds
/// (2026-12-01T10:00Z, 2026-12-01T10:00:05.5+01:00); a date (2026-12-01, midnight UTC); relative
/// to now (-30s, -15m, -2h, -1d, -1w); now, today, yesterday (midnight, local time, as journalctl).
enum TimeArgument {
    static let forms = "Unix seconds, 2026-12-01T10:00Z, 2026-12-01, -15m, -2h, -1d, now, today or yesterday"

    static func nanoseconds(_ text: String, now: Date = Date()) -> UInt64? {
        seconds(text, now: now).map { UInt64(max(0, $0) * 1e9) }
    }

    /// Parses `text`, or fails naming the option and the accepted forms.
    static func parse(_ text: String, option: String) throws(AnalyzerFailure) -> UInt64 {
        guard let ns = nanoseconds(text) else { throw .usage("\(option) '\(text)': not a time (\(forms))") }
        return ns
    }

    private static func seconds(_ text: String, now: Date) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let s = Double(t), s >= 0, s.isFinite { return s }
        let calendar = Calendar.current
        switch t {
        case "now": return now.timeIntervalSince1970
        case "today": return calendar.startOfDay(for: now).timeIntervalSince1970
        case "yesterday": return calendar.startOfDay(for: now).timeIntervalSince1970 - 86_400
        default: break
        }
        if t.hasPrefix("-"), let unit = t.last, let n = Double(t.dropFirst().dropLast()), n >= 0, n.isFinite {
            let scale: Double? = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800][unit]
            if let scale { return now.timeIntervalSince1970 - n * scale }
        }
        return iso(text.trimmingCharacters(in: .whitespaces))
    }

    private static func iso(_ text: String) -> Double? {
        let f = ISO8601DateFormatter()
        let forms: [ISO8601DateFormatter.Options] = [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime],
            [.withFullDate, .withTime, .withColonSeparatorInTime, .withTimeZone, .withDashSeparatorInDate],
        ]
        for options in forms {
            f.formatOptions = options
            if let d = f.date(from: text) { return d.timeIntervalSince1970 }
        }
        // HH:MM without seconds: add them.
        if let tee = text.firstIndex(where: { $0 == "T" || $0 == "t" }) {
            let time = text[text.index(after: tee)...]
            let zone = time.firstIndex(where: { $0 == "Z" || $0 == "z" || $0 == "+" || $0 == "-" })
            if let zone, time[..<zone].count == 5 {
                return iso(String(text[...tee]) + time[..<zone] + ":00" + time[zone...])
            }
        }
        f.formatOptions = [.withFullDate, .withDashSeparatorInDate]
        return f.date(from: text)?.timeIntervalSince1970
    }
}
