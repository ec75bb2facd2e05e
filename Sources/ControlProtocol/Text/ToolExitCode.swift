/// The exit statuses every BMA tool uses (bmad, bmactl, bma-analyzer), documented in README.
public enum ToolExitCode {
    /// Success.
    public static let success: Int32 = 0
    /// A runtime failure: the daemon answered with an error, EAL or a port failed, a file could
    /// not be written, the instance lock is held.
    public static let failure: Int32 = 1
    /// Bad usage: a mistyped command or option, a bad value, an invalid configuration file.
    public static let usage: Int32 = 2
    /// What was named does not exist (VM, policy, store) or cannot be reached (socket).
    public static let notFound: Int32 = 3
}
