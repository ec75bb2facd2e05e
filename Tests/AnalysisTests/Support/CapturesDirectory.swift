import Foundation

/// Where the real captures live: $BMA_PCAPS, else `<package root>/captures`.
enum CapturesDirectory {
    static let path: String = {
        if let configured = ProcessInfo.processInfo.environment["BMA_PCAPS"], !configured.isEmpty {
            return configured
        }
        // This file is <root>/Tests/AnalysisTests/Support/CapturesDirectory.swift.
        let root = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("captures").path
    }()

    static func file(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    /// True when every named capture is present, so tests that need them can be skipped otherwise.
    static func has(_ names: String...) -> Bool {
        names.allSatisfy { FileManager.default.isReadableFile(atPath: file($0)) }
    }

    static let skipMessage = "real captures not found: set BMA_PCAPS or provide <package root>/captures"
}
