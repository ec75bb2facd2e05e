import Analysis
import ArgumentParser
import Foundation

/// Read-only commands open a store that exists; they never create one (a mistyped --store would
/// otherwise leave a new, empty store behind and answer "nothing found").
enum ExistingStore {
    static func require(_ directory: String) throws {
        let index = (directory as NSString).appendingPathComponent(CaptureStore.indexFileName)
        var isDirectory: ObjCBool = false
        let reason: String
        if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) {
            reason = "no such directory"
        } else if !isDirectory.boolValue {
            reason = "not a directory"
        } else if !FileManager.default.fileExists(atPath: index) {
            reason = "not a store (no \(CaptureStore.indexFileName))"
        } else {
            return
        }
        throw AnalyzerFailure.notFound("store \(directory): \(reason)")
    }
}
