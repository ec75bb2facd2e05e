import Control
import Foundation
import Glibc

/// Everything bmactl writes goes through here.
enum Output {
    static func line(_ text: String) { print(text) }

    static func lines(_ text: [String]) {
        for l in text { print(l) }
    }

    /// One message on stderr (stdout is flushed first so the two interleave in order).
    static func error(_ text: String) {
        flush()
        FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }

    static func flush() { fflush(nil) }

    /// The result as indented JSON with sorted keys.
    static func json(_ value: JSONValue) { line(PrettyJSON.text(value)) }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
}

/// JSON with two-space indentation and sorted keys (one value per line), for `--json`.
enum PrettyJSON {
    static func text(_ value: JSONValue) -> String {
        var out = ""
        write(value, indent: 0, to: &out)
        return out
    }

    private static func write(_ value: JSONValue, indent: Int, to out: inout String) {
        let pad = String(repeating: " ", count: indent + 2)
        switch value {
        case .array(let items) where !items.isEmpty:
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += pad
                write(item, indent: indent + 2, to: &out)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "]"
        case .object(let members) where !members.isEmpty:
            out += "{\n"
            let keys = members.keys.sorted()
            for (i, key) in keys.enumerated() {
                out += pad + JSONValue.string(key).encodedString() + ": "
                write(members[key]!, indent: indent + 2, to: &out)
                out += i == keys.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: " ", count: indent) + "}"
        default:
            out += value.encodedString()
        }
    }
}
