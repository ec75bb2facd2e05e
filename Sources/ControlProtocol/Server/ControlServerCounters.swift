extension ControlServer {
    /// What the control socket has done since it was opened.
    public struct Counters: Sendable, Equatable {
        /// Connections admitted.
        public var accepted: UInt64 = 0
        /// Connections refused: `busy`, `permission-denied`, or credentials unreadable.
        public var rejected: UInt64 = 0
        /// Request lines answered (well-formed or not).
        public var requests: UInt64 = 0
        /// Error responses sent, by code (including the `busy` and `permission-denied` refusals).
        public var errors: [ControlErrorCode: UInt64] = [:]
        /// Connections closed for being idle.
        public var idleClosed: UInt64 = 0
        /// Connections closed because a request (reading it, answering it) passed its deadline.
        public var timedOut: UInt64 = 0
        /// Clients dropped because their unread responses passed `maxOutputBytes`.
        public var dropped: UInt64 = 0

        public init() {}

        public func errors(_ code: ControlErrorCode) -> UInt64 { errors[code, default: 0] }

        /// `{accepted, rejected, requests, errors: {code: n}, idle_closed, timed_out, dropped}`.
        public var json: JSONValue {
            .object([
                "accepted": .number(Double(accepted)),
                "rejected": .number(Double(rejected)),
                "requests": .number(Double(requests)),
                "errors": .object(Dictionary(uniqueKeysWithValues: errors.map { ($0.key.rawValue, .number(Double($0.value))) })),
                "idle_closed": .number(Double(idleClosed)),
                "timed_out": .number(Double(timedOut)),
                "dropped": .number(Double(dropped)),
            ])
        }
    }
}
