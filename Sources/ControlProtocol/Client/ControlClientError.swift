/// Why a control client could not get an answer. (An answer that is an error is thrown as the
/// daemon's `ControlError` instead.)
public enum ControlClientError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No socket file at the path.
    case notRunning(path: String)
    /// A socket file nobody listens on (bmad stopped without removing it).
    case notListening(path: String)
    /// The socket file's permissions refuse this user.
    case permissionDenied(path: String)
    case connectFailed(path: String, SocketError)
    case timedOut(method: String, seconds: Double)
    /// The daemon closed the connection without answering.
    case connectionClosed(method: String)
    case malformedResponse(String)
    case io(SocketError)

    public var description: String {
        switch self {
        case .notRunning(let path):
            "bmad is not running? no socket at \(path)"
        case .notListening(let path):
            "bmad is not running? nothing listens on \(path)"
        case .permissionDenied(let path):
            "permission denied on \(path): run as root or as a member of the control group"
        case .connectFailed(let path, let e):
            "cannot connect to \(path): \(e.reason)"
        case .timedOut(let method, let seconds):
            "no answer from bmad to \(method) within \(JSONValue.number(seconds)) s"
        case .connectionClosed(let method):
            "bmad closed the connection without answering \(method)"
        case .malformedResponse(let message):
            "malformed response from bmad: \(message)"
        case .io(let e):
            "control socket: \(e)"
        }
    }
}
