#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock times of the store as text: segment-name stamps and alert timestamps (the clock itself is `SystemClock`).
public enum CaptureStoreTime {
    /// "YYYYMMDD-HHMMSS" in UTC.
    static func segmentStamp(_ ns: UInt64) -> String {
        let parts = civil(ns)
        return pad(parts.year, 4) + pad(parts.month, 2) + pad(parts.day, 2) + "-"
            + pad(parts.hour, 2) + pad(parts.minute, 2) + pad(parts.second, 2)
    }

    /// Suricata's form, UTC: "2021-03-11T15:22:15.831389+0000".
    static func alertTimestamp(_ ns: UInt64) -> String {
        let parts = civil(ns)
        return pad(parts.year, 4) + "-" + pad(parts.month, 2) + "-" + pad(parts.day, 2) + "T" + pad(parts.hour, 2) + ":"
            + pad(parts.minute, 2) + ":" + pad(parts.second, 2) + "." + pad(Int(ns % 1_000_000_000 / 1000), 6) + "+0000"
    }

    /// Parses RFC 3339 / ISO 8601 times as alerts carry them: `YYYY-MM-DDTHH:MM:SS`, an optional
    /// fraction (up to 9 digits), then `Z`, `±HHMM` or `±HH:MM` (no zone: UTC). Nil if malformed
    /// or before 1970.
    static func parse(_ text: String) -> UInt64? {
        let chars = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= chars.count else { return nil }
            var value = 0
            for char in chars[start..<start + count] {
                guard char >= 48, char <= 57 else { return nil }
                value = value * 10 + Int(char - 48)
            }
            return value
        }
        guard chars.count >= 19, chars[4] == 45, chars[7] == 45, chars[10] == 84 || chars[10] == 32 || chars[10] == 116,
              chars[13] == 58, chars[16] == 58,
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var cursor = 19
        var fraction: UInt64 = 0
        if cursor < chars.count, chars[cursor] == 46 {
            cursor += 1
            var digits = 0
            while cursor < chars.count, chars[cursor] >= 48, chars[cursor] <= 57 {
                if digits < 9 { fraction = fraction * 10 + UInt64(chars[cursor] - 48); digits += 1 }
                cursor += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { fraction *= 10 }
        }
        var offsetSeconds = 0
        if cursor < chars.count {
            switch chars[cursor] {
            case 90, 122:  // Z
                cursor += 1
            case 43, 45:  // + -
                let sign = chars[cursor] == 43 ? 1 : -1
                guard let hours = number(cursor + 1, 2) else { return nil }
                var minutesAt = cursor + 3
                if minutesAt < chars.count, chars[minutesAt] == 58 { minutesAt += 1 }
                guard let minutes = number(minutesAt, 2) else { return nil }
                offsetSeconds = sign * (hours * 3600 + minutes * 60)
                cursor = minutesAt + 2
            default:
                return nil
            }
        }
        guard cursor == chars.count else { return nil }
        let seconds = daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        guard seconds >= 0 else { return nil }
        return UInt64(seconds) * 1_000_000_000 + fraction
    }

    // MARK: Calendar (proleptic Gregorian, UTC)

    /// Days since 1970-01-01 of a civil date.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        // Count years from March so that February's leap day ends the year.
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let monthFromMarch = (month + 9) % 12
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(_ ns: UInt64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let totalSeconds = Int(ns / 1_000_000_000)
        let days = totalSeconds / 86_400
        let secondOfDay = totalSeconds % 86_400
        // Inverse of daysFromCivil.
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, secondOfDay / 3600, secondOfDay % 3600 / 60, secondOfDay % 60)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

/// File-system space for retention.
public enum CaptureStoreDisk {
    /// Bytes available to unprivileged users (f_bavail x f_frsize) in the file system holding
    /// `path`; nil when statvfs fails.
    @Sendable
    public static func availableBytes(_ path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }
}
