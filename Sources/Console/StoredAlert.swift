import Analysis
import Foundation

/// An alert as the console shows it: with its time in ns and an id that names it in links.
/// The index does not give its row id out, so the id is the alert's time and a hash of its JSON
/// line: stable across restarts and the same in the live console and in a report.
public struct StoredAlert: Sendable {
    public var alert: Alert
    public var timestampNs: UInt64
    public var id: String

    public init(_ alert: Alert) {
        self.alert = alert
        timestampNs = Self.nanoseconds(alert.timestamp) ?? 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(alert)) ?? Data(alert.timestamp.utf8)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in json { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        id = "\(timestampNs)-\(String(hash & 0xFFFF_FFFF_FFFF, radix: 16))"
    }

    /// The id's time part, to look an alert up from its id without reading every alert.
    static func time(ofID id: String) -> UInt64? {
        guard let dash = id.firstIndex(of: "-") else { return nil }
        return UInt64(id[..<dash])
    }

    /// EVE timestamps: 2021-03-11T15:22:15.831389+0000 (as AlertBuilder writes them).
    static func nanoseconds(_ text: String) -> UInt64? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var n = 0
            for b in bytes[range] {
                guard b >= 48, b <= 57 else { return nil }
                n = n * 10 + Int(b - 48)
            }
            return n
        }
        guard let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10), let h = number(11..<13),
              let mi = number(14..<16), let s = number(17..<19), (1...12).contains(mo), (1...31).contains(d) else { return nil }
        var fraction: UInt64 = 0
        var i = 19
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                if digits < 9 { fraction = fraction * 10 + UInt64(bytes[i] - 48); digits += 1 }
                i += 1
            }
            while digits < 9 { fraction *= 10; digits += 1 }
        }
        var offset = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            let sign = bytes[i] == UInt8(ascii: "-") ? -1 : 1
            let rest = bytes[(i + 1)...].filter { $0 != UInt8(ascii: ":") }
            if rest.count >= 4, let hh = Int(String(decoding: rest[rest.startIndex..<rest.startIndex + 2], as: UTF8.self)),
               let mm = Int(String(decoding: rest[rest.startIndex + 2..<rest.startIndex + 4], as: UTF8.self)) {
                offset = sign * (hh * 3600 + mm * 60)
            }
        }
        let days = daysFromCivil(y, mo, d)
        let seconds = days * 86_400 + h * 3600 + mi * 60 + s - offset
        guard seconds >= 0 else { return nil }
        return UInt64(seconds) * 1_000_000_000 + fraction
    }

    /// Days since 1970-01-01 of a Gregorian date.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
