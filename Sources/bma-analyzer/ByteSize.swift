import ArgumentParser

/// A size on the command line or in analyzer.yaml: bytes, or a number with K, M, G or T
/// (powers of 1024, optionally followed by "iB" or "B"): 200G, 512M, 1.5T, 10GiB.
struct ByteSize: ExpressibleByArgument, Equatable {
    var bytes: UInt64

    init(bytes: UInt64) { self.bytes = bytes }

    init?(argument: String) {
        guard let b = Self.parse(argument) else { return nil }
        bytes = b
    }

    static func parse(_ text: String) -> UInt64? {
        var t = text.trimmingCharacters(in: .whitespaces).uppercased()[...]
        if t.hasSuffix("IB") { t = t.dropLast(2) } else if t.hasSuffix("B") { t = t.dropLast() }
        var scale: Double = 1
        if let unit = t.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4, "P": 5][unit] {
            scale = Double(1 << (10 * power))
            t = t.dropLast()
        }
        if scale == 1, let exact = UInt64(t) { return exact }
        guard let n = Double(t), n >= 0, n.isFinite, n * scale < 1.8e19 else { return nil }
        return UInt64((n * scale).rounded())
    }

    var defaultValueDescription: String { Self.text(bytes) }

    /// The largest unit that divides exactly: 214748364800 → "200G".
    static func text(_ bytes: UInt64) -> String {
        for (unit, power) in [("T", 4), ("G", 3), ("M", 2), ("K", 1)] where bytes > 0 && bytes % (1 << (10 * power)) == 0 {
            return "\(bytes >> (10 * power))\(unit)"
        }
        return "\(bytes)"
    }
}
