import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
enum ExitStatus: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// Decodes a `waitpid` status (the W* macros are not visible from Swift).
    init(waitStatus status: Int32) {
        let signal = status & 0x7F
        self = signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }

    var description: String {
        switch self {
        case .exited(let code): "exit status \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

/// A process started for a test: its own process group (so a kill reaches everything it runs),
/// stdout and stderr captured in files, stdin /dev/null or a pipe the test writes to.
///
/// Every wait is bounded. The child is started through `setpriv --pdeathsig KILL` when available,
/// so it dies with the test process even if the test process crashes.
final class ChildProcess {
    let name: String
    let executable: String
    let arguments: [String]
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String
    private var stdinFD: Int32 = -1
    private(set) var exitStatus: ExitStatus?
    /// Run once, right after the process is reaped (e.g. removing DPDK runtime files).
    var afterExit: [() -> Void] = []

    /// Starts `executable` with `arguments`; output goes to `<directory>/<name>.stdout|.stderr`.
    init(name: String, executable: String, arguments: [String], directory: String, stdinPipe: Bool = false) throws {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        stdoutPath = "\(directory)/\(name).stdout"
        stderrPath = "\(directory)/\(name).stderr"
        ChildProcess.ignoreSIGPIPE

        var argv = [executable] + arguments
        var path = executable
        if let setpriv = TestEnvironment.setpriv {
            argv = [setpriv, "--pdeathsig", "KILL", "--"] + argv
            path = setpriv
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeFDs: [Int32] = [-1, -1]
        if stdinPipe {
            guard pipe(&pipeFDs) == 0 else { throw ChildProcessError.spawn(name, String(cString: strerror(errno))) }
            // Neither end may leak into other children; dup2 gives this child a plain fd 0.
            for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGUSR1, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, &attributes, cArgs, environ)
        if stdinPipe { close(pipeFDs[0]) }
        guard rc == 0 else {
            if stdinPipe { close(pipeFDs[1]) }
            throw ChildProcessError.spawn(name, "\(path): \(String(cString: strerror(rc)))")
        }
        pid = child
        stdinFD = stdinPipe ? pipeFDs[1] : -1
    }

    deinit {
        if exitStatus == nil { kill(signal: SIGKILL, grace: 5) }
        if stdinFD >= 0 { close(stdinFD) }
    }

    /// A broken stdin pipe must fail a write, not kill the test process.
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    // MARK: Output

    var stdout: String { Self.read(stdoutPath) }
    var stderr: String { Self.read(stderrPath) }

    private static func read(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Lines of stdout that contain `text`.
    func stdoutLines(containing text: String) -> [Substring] {
        stdout.split(separator: "\n").filter { $0.contains(text) }
    }

    /// The last lines of stdout and stderr, for failure messages.
    func outputTail(lines: Int = 25) -> String {
        func tail(_ s: String) -> String { s.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n") }
        return "--- \(name) stdout (\(stdoutPath)) ---\n\(tail(stdout))\n--- \(name) stderr ---\n\(tail(stderr))"
    }

    /// Waits until stdout has at least `count` lines containing `text`. Fails early if the
    /// process exits first.
    func waitForLine(containing text: String, count: Int = 1, timeout: TimeInterval) throws {
        try waitUntil("\(name) prints '\(text)' (\(count)x)", timeout: timeout, context: { self.outputTail() }) {
            if self.stdoutLines(containing: text).count >= count { return true }
            if !self.isRunning { throw ChildProcessError.exitedEarly(self.name, self.exitStatus!, self.outputTail()) }
            return false
        }
    }

    // MARK: Input

    /// Writes `text` to the child's stdin pipe.
    func send(_ text: String) throws {
        guard stdinFD >= 0 else { throw ChildProcessError.noStdin(name) }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(stdinFD, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ChildProcessError.write(name, String(cString: strerror(errno)))
            }
            offset += n
        }
    }

    func closeStdin() {
        if stdinFD >= 0 { close(stdinFD) }
        stdinFD = -1
    }

    // MARK: Life cycle

    /// True until the process has exited (and reaps it when it has).
    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            reaped(ExitStatus(waitStatus: status))
            return false
        }
        if r < 0 && errno == ECHILD {
            reaped(.signaled(0))
            return false
        }
        return true
    }

    private func reaped(_ status: ExitStatus) {
        exitStatus = status
        let actions = afterExit
        afterExit = []
        actions.forEach { $0() }
    }

    /// Sends `signal` to the whole process group (only while the leader is not reaped, so the
    /// group id cannot have been reused).
    func signalGroup(_ signal: Int32) {
        guard isRunning else { return }
        _ = Glibc.kill(-pid, signal)
    }

    /// Sends `signal` to the process itself.
    func signalProcess(_ signal: Int32) {
        guard isRunning else { return }
        _ = Glibc.kill(pid, signal)
    }

    /// Waits for the process to exit; throws a timeout (leaving it running) otherwise.
    @discardableResult
    func waitForExit(timeout: TimeInterval) throws -> ExitStatus {
        try waitUntil("\(name) exits", timeout: timeout, context: { self.outputTail() }) { !self.isRunning }
        return exitStatus!
    }

    /// Stops the process group: `signal`, then SIGKILL after `grace` seconds. Always reaps.
    @discardableResult
    func kill(signal: Int32 = SIGTERM, grace: TimeInterval = 5) -> ExitStatus {
        if let exitStatus { return exitStatus }
        signalGroup(signal)
        if signal != SIGKILL, (try? waitForExit(timeout: grace)) != nil { return exitStatus! }
        signalGroup(SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if exitStatus == nil { reaped(ExitStatus(waitStatus: status)) }
        return exitStatus!
    }
}

enum ChildProcessError: Error, CustomStringConvertible {
    case spawn(String, String)
    case exitedEarly(String, ExitStatus, String)
    case noStdin(String)
    case write(String, String)

    var description: String {
        switch self {
        case .spawn(let name, let why): "cannot start \(name): \(why)"
        case .exitedEarly(let name, let status, let tail): "\(name) exited early (\(status))\n\(tail)"
        case .noStdin(let name): "\(name) was started without a stdin pipe"
        case .write(let name, let why): "cannot write to \(name)'s stdin: \(why)"
        }
    }
}
