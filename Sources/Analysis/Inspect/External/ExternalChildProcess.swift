import BMAContract
import Foundation
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// One running external command: its pid and the parent's ends of its stdin, stdout and stderr
/// pipes (non-blocking, close-on-exec). The child runs in its own process group, with the
/// default signal mask and SIGPIPE disposition, so that killing the group also ends anything a
/// wrapper script started.
final class ExternalChildProcess {
    enum SpawnError: Error, CustomStringConvertible {
        case emptyCommand
        case pipe(Int32)
        case spawn(command: String, errno: Int32)

        var description: String {
            switch self {
            case .emptyCommand: "no command configured"
            case let .pipe(code): "pipe: \(String(cString: strerror(code)))"
            case let .spawn(command, code): "cannot start \(command): \(String(cString: strerror(code)))"
            }
        }
    }

    enum Exit: Equatable, CustomStringConvertible {
        case status(Int32)
        case signal(Int32)

        var isClean: Bool { self == .status(0) }

        var description: String {
            switch self {
            case let .status(code): "exit status \(code)"
            case let .signal(signal): "killed by signal \(signal)"
            }
        }
    }

    let pid: pid_t
    private(set) var stdin: Int32
    private(set) var stdout: Int32
    private(set) var stderr: Int32
    private(set) var exit: Exit?

    private init(pid: pid_t, stdin: Int32, stdout: Int32, stderr: Int32) {
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
    }

    deinit {
        closeAll()
    }

    /// Starts `command` (argv[0] looked up in PATH), with `environment` added to ours.
    static func spawn(_ command: [String], environment: [String: String]) throws(SpawnError) -> ExternalChildProcess {
        guard let program = command.first, !program.isEmpty else { throw .emptyCommand }
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var ends: [Int32] = [-1, -1]
            guard makePipe(&ends, flags: O_CLOEXEC) == 0 else {
                let code = errno
                pipes.flatMap { $0 }.forEach { _ = close($0) }
                throw .pipe(code)
            }
            pipes.append(ends)
        }
        let (stdinPipe, stdoutPipe, stderrPipe) = (pipes[0], pipes[1], pipes[2])

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        // The child's ends belong to the child now.
        _ = close(stdinPipe[0])
        _ = close(stdoutPipe[1])
        _ = close(stderrPipe[1])
        guard result == 0 else {
            [stdinPipe[1], stdoutPipe[0], stderrPipe[0]].forEach { _ = close($0) }
            throw .spawn(command: program, errno: result)
        }
        for fd in [stdinPipe[1], stdoutPipe[0], stderrPipe[0]] {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        return ExternalChildProcess(pid: pid, stdin: stdinPipe[1], stdout: stdoutPipe[0], stderr: stderrPipe[0])
    }

    /// Bytes written to stdin that the child has not read yet (FIONREAD works on either end
    /// of a Linux pipe); 0 once stdin is closed.
    var unreadInput: Int {
        guard stdin >= 0 else { return 0 }
        var count: Int32 = 0
        let result = withUnsafeMutablePointer(to: &count) { ioctl(stdin, UInt(FIONREAD), $0) }
        return result == 0 ? Int(count) : 0
    }

    /// Writes what the pipe takes now; returns the bytes written, 0 when full, nil when the
    /// child closed its stdin (EPIPE) or another error happened.
    func writeSome(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard stdin >= 0, !bytes.isEmpty else { return 0 }
        switch interruptible({ bytes.withUnsafeBytes { write(stdin, $0.baseAddress!, $0.count) } }) {
        case .success(let written): return written
        case .failure(.resourceTemporarilyUnavailable): return 0
        case .failure: return nil
        }
    }

    /// Reads what is available from `fd` into `buffer`; returns bytes read, 0 at end of file,
    /// nil when nothing is available now.
    static func readSome(_ fd: Int32, into buffer: inout [UInt8], max: Int) -> Int? {
        guard fd >= 0 else { return 0 }
        let start = buffer.count
        buffer.reserveCapacity(start + max)
        var chunk = [UInt8](repeating: 0, count: max)
        switch interruptible({ chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, max) } }) {
        case .success(let result):
            buffer.append(contentsOf: chunk[0..<result])
            return result
        case .failure(.resourceTemporarilyUnavailable): return nil
        case .failure: return 0
        }
    }

    func closeStdin() {
        if stdin >= 0 { _ = close(stdin) }
        stdin = -1
    }

    func closeStdout() {
        if stdout >= 0 { _ = close(stdout) }
        stdout = -1
    }

    func closeStderr() {
        if stderr >= 0 { _ = close(stderr) }
        stderr = -1
    }

    func closeAll() {
        closeStdin()
        closeStdout()
        closeStderr()
    }

    /// Reaps the child if it has exited; returns how.
    @discardableResult
    func poll() -> Exit? {
        if let exit { return exit }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            exit = Self.decode(status)
        } else if result < 0, errno == ECHILD {
            exit = .status(-1)  // reaped elsewhere
        }
        return exit
    }

    /// SIGKILL to the child's process group (and the child), then reaps it.
    func kill() {
        guard exit == nil else { return }
        _ = Glibc.kill(-pid, SIGKILL)
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        switch interruptible({ waitpid(pid, &status, 0) }) {
        case .success(let reaped) where reaped == pid: exit = Self.decode(status)
        case .success, .failure: exit = .signal(SIGKILL)
        }
    }

    private static func decode(_ status: Int32) -> Exit {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros; the encoding is the classic one.
        let signal = status & 0x7F
        return signal == 0 ? .status((status >> 8) & 0xFF) : .signal(signal)
    }
}

/// pipe2(2) (atomic close-on-exec, so a child spawned by another thread meanwhile cannot
/// inherit the pipe), found at run time because Glibc's Swift module does not export it; pipe(2)
/// and fcntl(2) where it is missing.
func makePipe(_ ends: inout [Int32], flags: Int32) -> Int32 {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    struct Holder: @unchecked Sendable { let function: Pipe2? }
    enum Cache {
        static let pipe2: Holder = {
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2") else { return Holder(function: nil) }
            return Holder(function: unsafeBitCast(symbol, to: Pipe2.self))
        }()
    }
    if ends.count < 2 { ends = [-1, -1] }
    if let pipe2 = Cache.pipe2.function {
        return ends.withUnsafeMutableBufferPointer { pipe2($0.baseAddress!, flags) }
    }
    let result = ends.withUnsafeMutableBufferPointer { pipe($0.baseAddress!) }
    guard result == 0 else { return result }
    for fd in ends {
        if flags & O_CLOEXEC != 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        if flags & O_NONBLOCK != 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }
    return 0
}
