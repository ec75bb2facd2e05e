import Foundation

/// TCP/UDP ports as sorted, merged, non-overlapping ranges: `53,853,1000-2000`. At most 16
/// ranges after merging (the dataplane compiles a policy's port set into a fixed array).
public struct PortSet: Sendable, Hashable, CustomStringConvertible {
    public static let maxRanges = 16

    /// Sorted, disjoint and not adjacent (1-5 and 6-9 become 1-9).
    public let ranges: [ClosedRange<UInt16>]

    /// Merges the ranges; nil when none are given or more than `maxRanges` remain.
    public init?(_ ranges: [ClosedRange<UInt16>]) {
        guard let s = try? PortSet.merged(ranges) else { return nil }
        self = s
    }

    /// `53`, `53,853`, `1000-2000`, `53, 853, 1000-2000` (spaces allowed around items).
    public init?(_ text: String) {
        guard let s = try? PortSet.parse(text) else { return nil }
        self = s
    }

    private init(normalised: [ClosedRange<UInt16>]) { ranges = normalised }

    /// Like `init?(_ text:)` but says what is wrong (the error's field is empty).
    public static func parse(_ text: String) throws(PolicyError) -> PortSet {
        var out: [ClosedRange<UInt16>] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            out.append(try range(item.trimmingCharacters(in: .whitespaces), in: text))
        }
        return try merged(out)
    }

    static func range(_ item: String, in text: String) throws(PolicyError) -> ClosedRange<UInt16> {
        func bad(_ why: String) -> PolicyError { PolicyError(field: "", "'\(text)' is not a port list: \(why)") }
        guard !item.isEmpty else { throw bad("an item is empty (use 53,853,1000-2000)") }
        let ends = item.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count <= 2 else { throw bad("'\(item)' is not a port or a range") }
        var ports: [UInt16] = []
        for e in ends {
            let t = e.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty, t.count <= 5, t.allSatisfy({ $0.isASCII && $0.isNumber }), let p = UInt16(t) else {
                throw bad("'\(item)' is not a port 0-65535 or a range such as 1000-2000")
            }
            ports.append(p)
        }
        guard ports.first! <= ports.last! else { throw bad("the range '\(item)' is reversed") }
        return ports.first!...ports.last!
    }

    /// Sorts and merges overlapping or adjacent ranges; rejects an empty list or too many ranges.
    public static func merged(_ input: [ClosedRange<UInt16>]) throws(PolicyError) -> PortSet {
        guard !input.isEmpty else { throw PolicyError(field: "", "lists no port") }
        var out: [ClosedRange<UInt16>] = []
        for r in input.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, Int(r.lowerBound) <= Int(last.upperBound) + 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        guard out.count <= maxRanges else {
            throw PolicyError(field: "", "has \(out.count) separate ranges after merging; at most \(maxRanges) are allowed")
        }
        return PortSet(normalised: out)
    }

    @inlinable
    public func contains(_ port: UInt16) -> Bool {
        for r in ranges where r.contains(port) { return true }
        return false
    }

    /// The canonical text: `53,853,1000-2000`.
    public var description: String {
        ranges.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}

extension PortSet: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try PortSet.parse(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
