import BMAContract
import ControlProtocol

/// The accepted range of every bounded policy value. Decoding and `Policy.validate()` both check
/// against these, so a policy built in Swift obeys the same rules as one read from JSON.
public enum PolicyLimits {
    public static let id: ClosedRange<Int> = 1...65535
    public static let priority: ClosedRange<Int> = -1000...1000
    public static let nameLength: ClosedRange<Int> = 1...128
    /// VM ids are the VNI on the mirror (24 bits), as in the configuration.
    public static let vmID: ClosedRange<Int> = VMReference.idRange
    public static let vmNameLength: ClosedRange<Int> = 1...32
    public static let vlan: ClosedRange<Int> = 0...4095
    public static let protocolNumber: ClosedRange<Int> = 0...255
    public static let size: ClosedRange<Int> = 0...65535
    public static let sensitivity: ClosedRange<Double> = SensitivitySetRequest.range
    /// 0 (the whole packet) or 64-65535.
    public static let snaplen: ClosedRange<Int> = 64...65535
    public static let packetsPerSecond: ClosedRange<Double> = 0...1e9
    public static let bytesPerSecond: ClosedRange<Double> = 0...1e12
    public static let stickySeconds: ClosedRange<Double> = 0...86_400
    public static let preTriggerPackets: ClosedRange<Int> = 0...64
    public static let encapsulations = MirrorEncapsulation.names
}

extension PolicyError {
    static func outOfRange(_ field: String, _ value: Int, _ range: ClosedRange<Int>) -> PolicyError {
        PolicyError(field: field, "\(value) is out of range (\(range.lowerBound) to \(range.upperBound))")
    }

    static func outOfRange(_ field: String, _ value: Double, _ range: ClosedRange<Double>) -> PolicyError {
        let t = policyNumberText
        return PolicyError(field: field, "\(t(value)) is out of range (\(t(range.lowerBound)) to \(t(range.upperBound)))")
    }

    static func check(_ field: String, _ value: Int, _ range: ClosedRange<Int>) throws(PolicyError) {
        guard range.contains(value) else { throw outOfRange(field, value, range) }
    }

    static func check(_ field: String, _ value: Double, _ range: ClosedRange<Double>) throws(PolicyError) {
        guard value.isFinite, range.contains(value) else { throw outOfRange(field, value, range) }
    }
}

/// `2` rather than `2.0`, `1000000000` rather than `1e+09`; other values as Swift prints them.
func policyNumberText(_ v: Double) -> String {
    if v.isFinite, v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return String(v)
}
