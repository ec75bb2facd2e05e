/// `status`: bmad's version, uptime and sizes, and the global sensitivity in force.
public struct StatusRequest: BmadParameterless {
    public typealias Response = Status
    public static let method = BmadMethod.status
    public init() {}

    public struct Status: Codable, Sendable, Equatable {
        public var version: String
        public var uptimeSeconds: Double
        public var pid: Int
        public var workers: Int
        public var vms: Int
        public var policies: Int
        public var policyGeneration: UInt64
        public var stateDirectory: String
        public var globalSensitivity: Double

        public init(version: String, uptimeSeconds: Double, pid: Int, workers: Int, vms: Int, policies: Int,
                    policyGeneration: UInt64, stateDirectory: String, globalSensitivity: Double) {
            self.version = version
            self.uptimeSeconds = uptimeSeconds
            self.pid = pid
            self.workers = workers
            self.vms = vms
            self.policies = policies
            self.policyGeneration = policyGeneration
            self.stateDirectory = stateDirectory
            self.globalSensitivity = globalSensitivity
        }

        enum CodingKeys: String, CodingKey {
            case version, pid, workers, vms, policies
            case uptimeSeconds = "uptime_s", policyGeneration = "policy_generation", stateDirectory = "state_dir"
            case globalSensitivity = "global_sensitivity"
        }
    }
}

/// `stats`: the same object as `bmad --summary-json`. Its type is the dataplane's snapshot,
/// which the tools do not link: they read it as a document.
public struct StatsRequest: BmadParameterless {
    public typealias Response = JSONValue
    public static let method = BmadMethod.stats
    public init() {}
}

/// `config.show`: the running configuration, the file's values and the dataplane's defaults.
/// An open document (its shape is the configuration file's).
public struct ConfigShowRequest: BmadParameterless {
    public typealias Response = JSONValue
    public static let method = BmadMethod.configShow
    public init() {}
}
