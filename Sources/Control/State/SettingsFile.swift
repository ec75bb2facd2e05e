import Foundation

/// What an operator changed at run time (`sensitivity.set`), saved in the state directory beside
/// the policies (`settings.json`) and restored at start. A saved value wins over the
/// configuration file's until it is reset.
public struct RuntimeSettings: Codable, Sendable, Equatable {
    /// The global sensitivity; nil = the configuration's `detection.sensitivity`.
    public var sensitivity: Double?
    /// Per-VM sensitivities by VM name; a VM not here has the configuration's.
    public var vmSensitivity: [String: Double] = [:]

    public init(sensitivity: Double? = nil, vmSensitivity: [String: Double] = [:]) {
        self.sensitivity = sensitivity
        self.vmSensitivity = vmSensitivity
    }

    enum CodingKeys: String, CodingKey {
        case sensitivity, vmSensitivity = "vm_sensitivity"
    }
}

/// `settings.json`: `{"format": "bma-settings", "version": 1, "sensitivity": 2, "vm_sensitivity": {"web1": 3}}`.
public struct SettingsFile: Sendable {
    public static let defaultName = "settings.json"
    public static let format = "bma-settings"
    public static let version = 1

    public let store: StateStore
    public let name: String

    public init(store: StateStore, name: String = SettingsFile.defaultName) {
        self.store = store
        self.name = name
    }

    public var path: String { store.path(name) }

    /// Saves atomically and durably (`StateStore.write`).
    public func save(_ settings: RuntimeSettings) throws(StateStoreError) {
        try store.write(SettingsFile.encode(settings), to: name)
    }

    /// The saved settings, or nil when nothing was saved yet.
    public func load() throws(SettingsFileError) -> RuntimeSettings? {
        _ = try? store.removeLeftovers(of: name)
        let data: Data?
        do { data = try store.read(name) } catch { throw SettingsFileError(path: path, problem: "could not be read: \(error)") }
        guard let data else { return nil }
        return try SettingsFile.decode(data, path: path)
    }

    public static func encode(_ settings: RuntimeSettings) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data = (try? e.encode(Body(format: format, version: version, settings: settings))) ?? Data()
        data.append(0x0a)
        return data
    }

    static func decode(_ data: Data, path: String) throws(SettingsFileError) -> RuntimeSettings {
        let body: Body
        do { body = try JSONDecoder().decode(Body.self, from: data) } catch {
            throw SettingsFileError(path: path, problem: "is not valid: \(error)")
        }
        guard body.format == format else { throw SettingsFileError(path: path, problem: "format '\(body.format)' is not '\(format)'") }
        guard body.version <= version else {
            throw SettingsFileError(path: path, problem: "version \(body.version) was written by a newer bmad (this one reads \(version))")
        }
        let values = [body.settings.sensitivity].compactMap { $0 } + Array(body.settings.vmSensitivity.values)
        guard values.allSatisfy({ PolicyLimits.sensitivity.contains($0) }) else {
            throw SettingsFileError(path: path, problem: "a sensitivity is outside \(PolicyLimits.sensitivity)")
        }
        return body.settings
    }

    private struct Body: Codable {
        var format: String
        var version: Int
        var settings: RuntimeSettings

        enum CodingKeys: String, CodingKey { case format, version }

        init(format: String, version: Int, settings: RuntimeSettings) {
            self.format = format
            self.version = version
            self.settings = settings
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            format = try c.decode(String.self, forKey: .format)
            version = try c.decode(Int.self, forKey: .version)
            settings = try RuntimeSettings(from: decoder)
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(format, forKey: .format)
            try c.encode(version, forKey: .version)
            try settings.encode(to: encoder)
        }
    }
}

/// Why saved settings were not used.
public struct SettingsFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var problem: String
    public var description: String { "settings file \(path) \(problem)" }
}
