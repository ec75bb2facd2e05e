/// Why a copy was sent besides its own score: the flags byte of the BMA metadata
/// (BMA_MF_* in the shim).
public struct MirrorFlags: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Sent because a later packet of the VM triggered.
    @inlinable public static var preTrigger: MirrorFlags { MirrorFlags(rawValue: 1 << 0) }
    /// Sent because its host or flow was flagged recently.
    @inlinable public static var sticky: MirrorFlags { MirrorFlags(rawValue: 1 << 1) }
    /// The copy is shorter than the original (snaplen).
    @inlinable public static var truncated: MirrorFlags { MirrorFlags(rawValue: 1 << 2) }
    /// A policy or an operator asked for it (always / force).
    @inlinable public static var forced: MirrorFlags { MirrorFlags(rawValue: 1 << 3) }

    /// Every flag with its name, lowest bit first.
    public static let all: [(MirrorFlags, String)] = [
        (.preTrigger, "pre-trigger"), (.sticky, "sticky"), (.truncated, "truncated"), (.forced, "forced"),
    ]

    /// The names of the flags set, lowest bit first.
    public var names: [String] { Self.all.filter { contains($0.0) }.map(\.1) }
}
