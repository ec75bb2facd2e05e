import BMAContract

// The action's own type (`ResponseAction`, its validation and its file form) is bmad's model in
// Control; `action.add` carries an action as the JSON object docs/control-protocol.md describes,
// and bmad reads it with that model.

/// `action.list`: the actions in force, each with its counters and the seconds it has left, and
/// the latest events.
public struct ActionListRequest: BmadParameterless {
    public typealias Response = ActionList
    public static let method = BmadMethod.actionList
    public init() {}

    public struct ActionList: Codable, Sendable, Equatable {
        /// Each action as bmad describes it (its members, `counters`, `seconds_left`).
        public var actions: [JSONValue]
        public var events: [Event]
        public init(actions: [JSONValue], events: [Event]) {
            self.actions = actions
            self.events = events
        }
    }

    /// One change of the actions in force: `added`, `exists`, `expired` or `removed`.
    public struct Event: Codable, Sendable, Equatable {
        /// ISO 8601.
        public var time: String
        public var event: String
        public var id: UInt32
        public var kind: String
        /// The target in words (`flow tcp 10.0.1.5 -> 10.0.0.9:22 of vm1`).
        public var target: String
        public var reason: String

        public init(time: String, event: String, id: UInt32, kind: String, target: String, reason: String) {
            self.time = time
            self.event = event
            self.id = id
            self.kind = kind
            self.target = target
            self.reason = reason
        }
    }
}

/// `action.add`: an action (`kind` and its target, rate, priority and reason) in force for
/// `seconds`; answers the stored action and `event` (`added`, or `exists` when extended).
public struct ActionAddRequest: BmadRequest {
    public typealias Response = JSONValue
    public static let method = BmadMethod.actionAdd
    /// The action's members, as bmad's model reads them.
    public var action: [String: JSONValue]
    public var seconds: Double

    /// The longest action, seven days.
    public static let secondsRange: ClosedRange<Double> = 0.001...(7 * 86_400.0)

    public init(action: [String: JSONValue], seconds: Double) {
        self.action = action
        self.seconds = seconds
    }

    /// A misspelt member is refused here; the action's own members are checked by bmad's model.
    public init(params: Params) throws(ControlError) {
        try params.rejectUnknown(allowing: Self.parameterNames)
        seconds = try params.double("seconds", in: Self.secondsRange)
        var action = params.values
        action.removeValue(forKey: "seconds")
        self.action = action
    }

    public var params: [String: JSONValue] {
        var out = action
        out["seconds"] = .number(seconds)
        return out
    }

    public static var example: Self {
        Self(action: ["kind": "rate-limit", "vm": "web1",
                      "flow": ["src": "10.0.1.5", "dst": "10.0.0.9", "proto": "tcp", "src_port": 40000, "dst_port": 22],
                      "destination": ["cidr": "203.0.113.0/24", "proto": "tcp", "port": 22],
                      "packets_per_second": 100, "bytes_per_second": 100_000, "priority": 10, "reason": "scan"],
             seconds: 300)
    }
}

/// `action.remove`: removes one action before it expires.
public struct ActionRemoveRequest: BmadRequest {
    public typealias Response = Removed
    public static let method = BmadMethod.actionRemove
    public var id: UInt32
    public init(id: UInt32) { self.id = id }
    public init(params: Params) throws(ControlError) { id = UInt32(try params.int("id", in: 1...Int(UInt32.max))) }
    public var params: [String: JSONValue] { ["id": .number(Double(id))] }
    public static var example: Self { Self(id: 1) }

    /// `{id, event: "removed"}`.
    public struct Removed: Codable, Sendable, Equatable {
        public var id: UInt32
        public var event: String
        public init(id: UInt32, event: String) {
            self.id = id
            self.event = event
        }
    }
}
