import ControlProtocol
import Foundation

/// Why a command stops: printed as one line `bma-analyzer: <message>` on stderr, with the exit
/// codes bmad and bmactl use (1 runtime failure, 2 usage, 3 not found or unreachable).
struct AnalyzerFailure: Error {
    static let runtimeCode = ToolExitCode.failure
    static let usageCode = ToolExitCode.usage
    static let notFoundCode = ToolExitCode.notFound

    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = runtimeCode) {
        self.message = message
        self.exitCode = exitCode
    }

    static func notFound(_ message: String) -> AnalyzerFailure { AnalyzerFailure(message, exitCode: notFoundCode) }
    static func usage(_ message: String) -> AnalyzerFailure { AnalyzerFailure(message, exitCode: usageCode) }

    func report() -> Never {
        FileHandle.standardError.write(Data("bma-analyzer: \(message)\n".utf8))
        exit(exitCode)
    }

    /// One line for any error: Foundation's file errors as "PATH: reason" rather than an
    /// NSError dump with its user info.
    static func describe(_ error: any Error) -> String {
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
            let path = ns.userInfo[NSFilePathErrorKey] as? String
                ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
            var reason = ns.localizedDescription
            let underlying = (ns.userInfo[NSUnderlyingErrorKey] as? any Error).map { $0 as NSError }
            if let underlying, underlying.domain == NSPOSIXErrorDomain {
                reason = String(cString: strerror(Int32(underlying.code)))
            } else if ns.domain == NSPOSIXErrorDomain {
                reason = String(cString: strerror(Int32(ns.code)))
            }
            return path.map { "\($0): \(reason)" } ?? reason
        }
        return String(describing: error).split(separator: "\n").joined(separator: " ")
    }
}
