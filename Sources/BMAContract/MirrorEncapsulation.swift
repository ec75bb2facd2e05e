/// How a mirrored copy is wrapped for the collectors (`mirror.encapsulation`, a policy's
/// `encapsulation`). The raw values are the shim's BMA_ENCAP_* codes.
public enum MirrorEncapsulation: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The original frame, for a directly attached capture NIC.
    case none = 0
    /// UDP 4789, VNI = VM id.
    case vxlan = 1
    /// UDP 6081, VNI = VM id, plus the BMA metadata option.
    case geneve = 2
    /// GRE 0x88be, ERSPAN type II, session id = VM id & 0x3ff.
    case erspan2 = 3

    /// What bmad uses when the configuration names none: Geneve, the one that carries BMA's metadata.
    public static let standard: MirrorEncapsulation = .geneve

    /// A policy's "use the configured encapsulation" (BMA_ENCAP_DEFAULT).
    public static let defaultCode: UInt8 = 0xFF

    /// The name used in configuration, policies and on the command line.
    public var name: String {
        switch self {
        case .none: "none"
        case .vxlan: "vxlan"
        case .geneve: "geneve"
        case .erspan2: "erspan2"
        }
    }

    public var description: String { name }

    /// Every name, in code order: `none, vxlan, geneve, erspan2`.
    public static let names: [String] = allCases.map(\.name)

    /// The encapsulation with that name, or nil.
    public init?(name: String) {
        guard let found = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }

    /// "use none, vxlan, geneve or erspan2", for error messages.
    public static var choices: String {
        names.dropLast().joined(separator: ", ") + " or " + names[names.count - 1]
    }
}
