/// One response rule of the analyzer: which alerts (signature pattern, severity, VMs) lead to
/// which action on bmad (kind, target, duration), and how many times a minute at most.
public struct ResponseRule: Sendable, Equatable {
    public enum Target: String, Sendable, CaseIterable {
        /// The alert's 5-tuple (src is the VM's address).
        case flow
        /// The alert's destination address (/32 or /128), with its protocol.
        case destination
        /// Everything the VM sends.
        case vm
    }

    public var name: String
    /// A pattern on the alert's signature, `*` matching any run of characters, case-insensitive;
    /// nil = any signature.
    public var signature: String?
    /// Alerts of this severity or more severe (1 high, 2 medium, 3 low); nil = any.
    public var severity: Int?
    /// The alert's VM by name or id as the analyzer writes it (`cam1`, `vm101`, `101`); nil = any.
    public var vms: [String]?
    /// drop, rate-limit, force-mirror or allow (bmad's action kinds).
    public var action: String
    public var target: Target
    public var seconds: Double
    /// The blast-radius limits: at most this many actions per minute from this rule, and
    /// (when given) on at most this many distinct VMs per minute.
    public var maxPerMinute: Int
    public var maxVMsPerMinute: Int?
    public var priority: Int
    public var packetsPerSecond: Double?
    public var bytesPerSecond: Double?

    public static let actions = ["drop", "rate-limit", "force-mirror", "allow"]

    public init(name: String, signature: String? = nil, severity: Int? = nil, vms: [String]? = nil, action: String,
                target: Target, seconds: Double, maxPerMinute: Int = 10, maxVMsPerMinute: Int? = nil, priority: Int = 0,
                packetsPerSecond: Double? = nil, bytesPerSecond: Double? = nil) {
        self.name = name
        self.signature = signature
        self.severity = severity
        self.vms = vms
        self.action = action
        self.target = target
        self.seconds = seconds
        self.maxPerMinute = maxPerMinute
        self.maxVMsPerMinute = maxVMsPerMinute
        self.priority = priority
        self.packetsPerSecond = packetsPerSecond
        self.bytesPerSecond = bytesPerSecond
    }

    /// Whether the alert is one this rule acts on (VMs named by `vmID` too).
    public func matches(_ alert: Alert, vmID: UInt32?) -> Bool {
        if let severity, alert.alert.severity > severity { return false }
        if let signature, !Self.glob(signature.lowercased(), alert.alert.signature.lowercased()) { return false }
        if let vms {
            let names = [alert.vm] + (vmID.map { ["\($0)", "vm\($0)"] } ?? [])
            guard vms.contains(where: { names.contains($0) }) else { return false }
        }
        return true
    }

    /// `*` matches any run of characters; everything else matches itself.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return pattern == text }
        guard text.hasPrefix(parts[0]) else { return false }
        var rest = Substring(text.dropFirst(parts[0].count))
        for part in parts.dropFirst().dropLast() where !part.isEmpty {
            guard let r = rest.range(of: part) else { return false }
            rest = rest[r.upperBound...]
        }
        return rest.hasSuffix(parts.last!)
    }
}
