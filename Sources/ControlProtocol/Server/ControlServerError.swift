/// Why the control socket could not be set up.
public enum ControlServerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// Another server answers on the path.
    case alreadyRunning(path: String)
    /// Something that is not a socket is in the way; it is left alone.
    case notASocket(path: String)
    case unknownGroup(String)
    case system(SocketError)

    public var description: String {
        switch self {
        case .alreadyRunning(let path): "another bmad is already listening on \(path)"
        case .notASocket(let path): "\(path) exists and is not a socket; not removing it"
        case .unknownGroup(let name): "unknown group '\(name)' for the control socket"
        case .system(let e): "control socket: \(e)"
        }
    }
}
