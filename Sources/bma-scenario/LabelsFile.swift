import PacketCapture
import Foundation

/// Reading and writing a scenario's labels JSON, with errors that name the file.
enum LabelsFile {
    enum Failure: Error, CustomStringConvertible, LocalizedError {
        case cannotWrite(path: String, reason: String)
        case cannotRead(path: String, reason: String)

        var description: String {
            switch self {
            case let .cannotWrite(path, reason): return "cannot write labels file \(path): \(reason)"
            case let .cannotRead(path, reason): return "cannot read labels file \(path): \(reason)"
            }
        }

        var errorDescription: String? { description }
    }

    static func write(_ labels: ScenarioLabels, to path: String) throws {
        do {
            try labels.jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            let directory = (path as NSString).deletingLastPathComponent
            let reason = FileManager.default.fileExists(atPath: directory.isEmpty ? "." : directory)
                ? error.localizedDescription : "directory \(directory) does not exist"
            throw Failure.cannotWrite(path: path, reason: reason)
        }
    }

    static func read(_ path: String) throws -> ScenarioLabels {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? error.localizedDescription : "no such file"
            throw Failure.cannotRead(path: path, reason: reason)
        }
        do {
            return try ScenarioLabels.decode(data)
        } catch {
            throw Failure.cannotRead(path: path, reason: "not a labels file written by 'bma-scenario splice' (\(error))")
        }
    }
}
