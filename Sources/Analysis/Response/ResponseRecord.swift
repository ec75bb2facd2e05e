import Foundation

/// What the analyzer did about one alert under one rule, one JSON line each in the store's
/// `responses.jsonl`: written by `serve`, read by the console's actions page.
public struct ResponseRecord: Sendable, Codable, Equatable {
    /// When the alert reached the response engine, and when bmad answered (wall clock, ns).
    public var alert_ns: UInt64
    public var done_ns: UInt64
    public var rule: String
    /// act's result (`added`, `exists`), or `dry-run`, `protected`, `limited`, `untargetable`, `failed`.
    public var outcome: String
    public var kind: String
    public var target: String
    public var vm: UInt32?
    public var seconds: Double
    public var signature: String
    public var alert_timestamp: String
    /// bmad's answer: its action id and expiry.
    public var action_id: Int?
    public var expires_ns: UInt64?
    public var error: String?

    public init(alert_ns: UInt64, done_ns: UInt64, rule: String, outcome: String, kind: String, target: String, vm: UInt32?,
                seconds: Double, signature: String, alert_timestamp: String, action_id: Int? = nil, expires_ns: UInt64? = nil,
                error: String? = nil) {
        self.alert_ns = alert_ns
        self.done_ns = done_ns
        self.rule = rule
        self.outcome = outcome
        self.kind = kind
        self.target = target
        self.vm = vm
        self.seconds = seconds
        self.signature = signature
        self.alert_timestamp = alert_timestamp
        self.action_id = action_id
        self.expires_ns = expires_ns
        self.error = error
    }

    public static let fileName = "responses.jsonl"

    /// The record as one JSON line, newline included.
    public var line: Data? { (try? JSONEncoder().encode(self)).map { $0 + Data([0x0a]) } }

    /// Appends one record to a store's file (a command run beside a serving node: each write is
    /// one line, appended whole with O_APPEND).
    public static func append(_ record: ResponseRecord, storeDirectory: String) {
        let path = storeDirectory + "/" + fileName
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0, let line = record.line else { return }
        defer { close(fd) }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// The records of a store, oldest first (unreadable lines skipped).
    public static func read(storeDirectory: String) -> [ResponseRecord] {
        guard let data = FileManager.default.contents(atPath: storeDirectory + "/" + fileName) else { return [] }
        let decoder = JSONDecoder()
        return data.split(separator: 0x0a).compactMap { try? decoder.decode(ResponseRecord.self, from: Data($0)) }
    }
}
