import ArgumentParser
import Control
import Foundation

/// Options every command accepts, before or after its name.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "bmad's control socket (default: $BMA_SOCKET, else \(ControlClient.defaultPath)).",
        valueName: "path"), completion: .file())
    var socket: String?

    @Flag(name: .long, help: "Print the daemon's result as JSON (pretty), for scripts.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for bmad.", valueName: "seconds"))
    var timeout: Double = 5

    func validate() throws {
        guard timeout.isFinite, timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    /// The socket path in effect.
    var socketPath: String {
        if let socket, !socket.isEmpty { return socket }
        if let env = ProcessInfo.processInfo.environment["BMA_SOCKET"], !env.isEmpty { return env }
        return ControlClient.defaultPath
    }

    func session() -> Session { Session(path: socketPath, timeout: timeout) }

    /// Sends `request` once and prints the result: as JSON with `--json`, else through `human`.
    func run(_ request: some BmadRequest, human: (JSONValue) -> Void) throws {
        let result = try session().call(request)
        if json { Output.json(result) } else { human(result) }
    }
}

/// One connection to bmad, opened at the first call and kept for the next ones.
final class Session {
    let path: String
    let timeout: Double
    private var client: ControlClient?

    init(path: String, timeout: Double) {
        self.path = path
        self.timeout = timeout
    }

    /// bmad's result as received: `--json` prints it as is, and the views read older and newer
    /// daemons alike.
    func call(_ request: some BmadRequest) throws(BmactlFailure) -> JSONValue {
        do {
            if client == nil { client = try ControlClient(path: path, timeout: timeout) }
            return try client!.result(of: request)
        } catch {
            throw BmactlFailure.from(error)
        }
    }
}
