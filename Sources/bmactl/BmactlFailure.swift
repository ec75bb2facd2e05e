import Control
import ControlProtocol

/// Why bmactl stops without success; `main` prints `bmactl: <message>` on stderr and exits with
/// `exitCode`.
struct BmactlFailure: Error {
    /// The daemon answered with an error.
    static let daemonCode = ToolExitCode.failure
    /// Bad usage (ArgumentParser's errors, unreadable or invalid input files).
    static let usageCode = ToolExitCode.usage
    /// bmad cannot be reached (no socket, permission, timeout, connection lost), or what was
    /// named does not exist (`not-found`).
    static let unreachableCode = ToolExitCode.notFound

    var message: String
    var exitCode: Int32

    /// `<code>: <message>` exactly as the daemon sent them.
    static func daemon(code: String, message: String) -> BmactlFailure {
        BmactlFailure(message: "\(code): \(message)", exitCode: daemonCode)
    }

    static func unreachable(_ message: String) -> BmactlFailure {
        BmactlFailure(message: message, exitCode: unreachableCode)
    }

    static func usage(_ message: String) -> BmactlFailure {
        BmactlFailure(message: message, exitCode: usageCode)
    }

    /// A local failure after the daemon did its part (e.g. the output file cannot be written).
    static func failed(_ message: String) -> BmactlFailure {
        BmactlFailure(message: message, exitCode: daemonCode)
    }

    /// Classifies what `ControlClient` threw.
    static func from(_ error: any Error) -> BmactlFailure {
        switch error {
        case let e as ControlError:
            let failure = daemon(code: e.code.rawValue, message: e.message)
            // The daemon refuses the connection itself (not the request): it cannot be used.
            // A VM or policy that does not exist is the other "not there" case.
            if e.code == .busy || e.code == .permissionDenied || e.code == .notFound {
                return BmactlFailure(message: failure.message, exitCode: unreachableCode)
            }
            return failure
        case let e as ControlClientError:
            switch e {
            case .malformedResponse(let text):
                // An error code this bmactl does not know: still print it as received.
                if let (code, message) = unknownCode(text) { return daemon(code: code, message: message) }
                return failed(e.description)
            default:
                return unreachable(e.description)
            }
        default:
            return unreachable("control socket: \(error)")
        }
    }

    /// Reads ControlResponse's "unknown error code 'X': message".
    private static func unknownCode(_ text: String) -> (String, String)? {
        let prefix = "unknown error code '"
        guard text.hasPrefix(prefix) else { return nil }
        let rest = text.dropFirst(prefix.count)
        guard let end = rest.range(of: "': ") else { return nil }
        return (String(rest[..<end.lowerBound]), String(rest[end.upperBound...]))
    }
}
