import ArgumentParser
import Control

/// Tolerant readers of result fields for tables: a missing or mistyped field shows as "-",
/// never a crash.
enum Field {
    static func text(_ v: JSONValue?) -> String {
        guard let v, !v.isNull else { return "-" }
        return KeyValueText.scalar(v)
    }

    static func number(_ v: JSONValue?) -> Double? {
        guard let d = v?.doubleValue, d.isFinite else { return nil }
        return d
    }

    /// A counter in human units (1.2k); a boolean as yes/no (vm.list's `learning` may be either).
    static func count(_ v: JSONValue?) -> String {
        if let b = v?.boolValue { return b ? "yes" : "no" }
        guard let d = number(v) else { return text(v) }
        return Units.count(d)
    }

    static func bytes(_ v: JSONValue?) -> String {
        guard let d = number(v) else { return text(v) }
        return Units.bytes(d)
    }

    static func yesNo(_ v: JSONValue?) -> String {
        guard let b = v?.boolValue else { return count(v) }
        return b ? "yes" : "no"
    }

    /// up / down / ? (unknown: null or absent).
    static func link(_ v: JSONValue?) -> String {
        guard let b = v?.boolValue else { return "?" }
        return b ? "up" : "down"
    }

    /// A number printed plainly (sensitivity 2.5), "-" when absent (the default applies).
    static func plain(_ v: JSONValue?) -> String {
        guard let d = number(v) else { return text(v) }
        return Units.plain(d)
    }

    /// The array at `key` when every element is an object.
    static func objects(_ v: JSONValue?) -> [[String: JSONValue]]? {
        guard let items = v?.arrayValue else { return nil }
        var out: [[String: JSONValue]] = []
        for item in items {
            guard let o = item.objectValue else { return nil }
            out.append(o)
        }
        return out
    }

    /// A `{name: count}` object's non-zero entries, largest first.
    static func counters(_ v: JSONValue?) -> [(String, Double)] {
        guard let o = v?.objectValue else { return [] }
        return o.compactMap { k, v in number(v).flatMap { $0 != 0 ? (k, $0) : nil } }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }
}

/// A policy id given on the command line.
enum PolicyArgument {
    static func id(_ value: Int) throws(ValidationError) -> UInt16 {
        guard (1...65535).contains(value) else { throw ValidationError("a policy id is 1-65535, got \(value)") }
        return UInt16(value)
    }
}
