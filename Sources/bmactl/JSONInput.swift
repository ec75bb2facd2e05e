import Control
import Foundation

/// JSON documents read from a file or stdin, and written to a file.
enum JSONInput {
    /// Reads and parses `path` (nil or "-": stdin). Unreadable or invalid input is a usage
    /// error (exit 2).
    static func read(_ path: String?) throws(BmactlFailure) -> JSONValue {
        let name = path ?? "stdin"
        let data: Data
        if let path, path != "-" {
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw .usage("cannot read \(path): \((error as NSError).localizedDescription)")
            }
        } else {
            if Output.stdinIsTerminal { Output.error("bmactl: reading JSON from stdin (end with Ctrl-D)") }
            data = FileHandle.standardInput.readDataToEndOfFile()
        }
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw .usage("\(name) is empty: expected a JSON document")
        }
        do {
            return try JSONValue.parse(data)
        } catch {
            throw .usage("\(name) is not valid JSON: \(error)")
        }
    }

    /// Writes `text` to `path` through a temporary file and a rename.
    static func write(_ text: String, to path: String) throws(BmactlFailure) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .failed("cannot write \(path): \((error as NSError).localizedDescription)")
        }
    }
}
