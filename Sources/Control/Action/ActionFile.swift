import ControlProtocol
import Foundation

/// The actions saved in the state directory beside the policies (`actions.json`):
/// `{"format": "bma-actions", "version": 1, "next_id": N, "actions": [...]}`, each action with
/// its absolute expiry (`expires_ns`), so that a restart keeps what has not expired yet.
public struct ActionFile: Sendable {
    public static let defaultName = "actions.json"
    public static let format = "bma-actions"
    public static let version = 1

    public let store: StateStore
    public let name: String

    public init(store: StateStore, name: String = ActionFile.defaultName) {
        self.store = store
        self.name = name
    }

    public var path: String { store.path(name) }

    /// Saves atomically and durably (`StateStore.write`).
    public func save(_ set: ActionSet) throws(StateStoreError) {
        try store.write(ActionFile.encode(set), to: name)
    }

    /// The saved set, nil when nothing was saved yet; a message when the file cannot be used.
    public func load() throws(ActionFileError) -> ActionSet? {
        _ = try? store.removeLeftovers(of: name)
        let data: Data?
        do { data = try store.read(name) } catch { throw ActionFileError(description: "action file \(path) could not be read: \(error)") }
        guard let data else { return nil }
        do { return try ActionFile.decode(data) } catch {
            throw ActionFileError(description: "action file \(path) is not valid: \(error.message)")
        }
    }

    public static func encode(_ set: ActionSet) -> Data {
        let body: JSONValue = ["format": .string(format), "version": .number(Double(version)),
                               "next_id": .number(Double(set.nextID)), "actions": .array(set.actions.map(\.json))]
        return Data(body.encodedBytes() + [0x0a])
    }

    public static func decode(_ data: Data) throws(ControlError) -> ActionSet {
        let tree: JSONValue
        do { tree = try JSONValue.parse(data) } catch { throw ControlError(.invalidParams, "\(error)") }
        guard let o = tree.objectValue else { throw ControlError(.invalidParams, "not a JSON object") }
        let f = Params(o)
        guard try f.string("format") == format else { throw f.invalid("format", "is not '\(format)'") }
        let v = try f.int("version", in: 1...Int(Int32.max))
        guard v <= version else { throw f.invalid("version", "\(v) was written by a newer bmad (this one reads \(version))") }
        let next = try f.optionalInt("next_id", in: 1...Int(UInt32.max)) ?? 1
        var list: [ResponseAction] = []
        for (i, item) in try f.array("actions").enumerated() {
            guard let ao = item.objectValue else { throw f.invalid("actions[\(i)]", "must be an object") }
            let p = Params(ao, path: "actions[\(i)]")
            var a = try ResponseAction(params: p)
            a.id = UInt32(try p.int("id", in: 1...Int(UInt32.max)))
            a.createdNs = UInt64(try p.optionalDouble("created_ns", in: 0...9e18) ?? 0)
            a.expiresNs = UInt64(try p.double("expires_ns", in: 1...9e18))
            list.append(a)
        }
        return ActionSet(list, nextID: UInt32(next))
    }
}

public struct ActionFileError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
