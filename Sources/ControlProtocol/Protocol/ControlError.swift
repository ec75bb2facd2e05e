/// Every error code of the control protocol (docs/control-protocol.md).
public enum ControlErrorCode: String, CaseIterable, Codable, Sendable {
    /// The line is not a JSON object.
    case parseError = "parse-error"
    /// No `method`, or `params` is not an object.
    case invalidRequest = "invalid-request"
    case methodNotFound = "method-not-found"
    /// A parameter is missing, of the wrong type or out of range; the message names it.
    case invalidParams = "invalid-params"
    /// The VM or policy named does not exist.
    case notFound = "not-found"
    case conflict = "conflict"
    case requestTooLarge = "request-too-large"
    case busy = "busy"
    case permissionDenied = "permission-denied"
    /// The daemon could not do it; nothing was changed.
    case `internal` = "internal"
}

/// An error answered on the control socket: `{"code": "...", "message": "..."}`.
public struct ControlError: Error, CustomStringConvertible, Equatable, Hashable, Sendable {
    public var code: ControlErrorCode
    public var message: String

    public init(_ code: ControlErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public init(code: ControlErrorCode, message: String) {
        self.init(code, message)
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The `error` member of a response.
    public var json: JSONValue {
        .object(["code": .string(code.rawValue), "message": .string(message)])
    }

    public static func invalidParams(_ name: String, _ problem: String) -> ControlError {
        ControlError(.invalidParams, name.isEmpty ? problem : "\(name): \(problem)")
    }

    public static func methodNotFound(_ method: String) -> ControlError {
        ControlError(.methodNotFound, "unknown method '\(method)'")
    }
}
