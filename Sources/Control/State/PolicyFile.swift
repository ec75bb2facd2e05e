import ControlProtocol
import Foundation

/// The policy set saved in the state directory (`policies.json`):
/// `{"format": "bma-policies", "version": 1, "generation": N, "policies": [...]}`.
public struct PolicyFile: Sendable {
    public static let defaultName = "policies.json"
    public static let format = "bma-policies"
    public static let version = 1

    public let store: StateStore
    public let name: String

    public init(store: StateStore, name: String = PolicyFile.defaultName) {
        self.store = store
        self.name = name
    }

    public var path: String { store.path(name) }

    /// Saves the set atomically and durably (`StateStore.write`).
    public func save(_ set: PolicySet) throws(StateStoreError) {
        try store.write(PolicyFile.encode(set), to: name)
    }

    /// The saved set, or nil when nothing was saved yet. A file that cannot be read, parsed or
    /// validated is reported as `PolicyFileError` (the caller keeps its defaults); leftover
    /// temporary files of an interrupted save are removed first (failing that is not an error:
    /// they are never read).
    public func load() throws(PolicyFileError) -> PolicySet? {
        _ = try? store.removeLeftovers(of: name)
        let data: Data?
        do {
            data = try store.read(name)
        } catch {
            throw PolicyFileError(path: path, reason: .unreadable(error))
        }
        guard let data else { return nil }
        do {
            return try PolicyFile.decode(data)
        } catch {
            throw PolicyFileError(path: path, reason: .invalid(error))
        }
    }

    /// The file's content: pretty-printed JSON with sorted keys, ending in a newline.
    public static func encode(_ set: PolicySet) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let body = Body(format: format, version: version, generation: set.generation, policies: set.policies)
        // Policies encode to plain JSON; encoding cannot fail.
        var data = (try? e.encode(body)) ?? Data()
        data.append(0x0a)
        return data
    }

    /// Parses and validates a file's content; errors name the field (`policies[2].match.vlan`).
    public static func decode(_ data: Data) throws(PolicyError) -> PolicySet {
        var f = try PolicyFields(JSONValue(policyText: data), path: "", what: "a policy file")
        guard let fmt = try f.string("format") else { throw PolicyError(field: "format", "is required ('\(format)')") }
        guard fmt == format else { throw PolicyError(field: "format", "'\(fmt)' is not '\(format)'") }
        guard let v = try f.integer("version", in: 1...Int(Int32.max)) else { throw PolicyError(field: "version", "is required") }
        guard v <= version else {
            throw PolicyError(field: "version", "\(v) was written by a newer bmad (this one reads version \(version))")
        }
        let generation = try f.integer("generation", in: 0...(1 << 53)) ?? 0
        let list = try f.value("policies").map { (t) throws(PolicyError) in try Policy.list(tree: t, path: "policies") } ?? []
        try f.rejectUnknown()
        return try PolicySet(list, generation: UInt64(generation))
    }

    private struct Body: Encodable {
        var format: String
        var version: Int
        var generation: UInt64
        var policies: [Policy]
    }
}

/// Why a saved policy file was not used.
public struct PolicyFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        case unreadable(StateStoreError)
        case invalid(PolicyError)
    }

    public var path: String
    public var reason: Reason

    public init(path: String, reason: Reason) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .unreadable(let e): "policy file \(path) could not be read: \(e)"
        case .invalid(let e): "policy file \(path) is not valid: \(e)"
        }
    }
}
